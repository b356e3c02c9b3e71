import Foundation
import SwiftletCore

extension MemoryStore {
    public func insertSecret(name: String, namespace: String, value: Data) throws {
        guard secrets[name] == nil else {
            throw SwiftletError(.conflict, "secret '\(name)' already exists; change its value with `swiftlet secret update \(name)` or remove it first")
        }
        secrets[name] = (namespace, value)
    }

    public func updateSecret(name: String, namespace: String, value: Data) throws {
        guard secrets[name] != nil else {
            throw SwiftletError(.notFound, "secret '\(name)' not found; create it with `swiftlet secret create \(name)`")
        }
        secrets[name] = (namespace, value)
    }

    public func deleteSecret(named name: String) throws -> Bool {
        guard secrets[name] != nil else { return false }
        let users = functions.values.filter { $0.secrets.contains(name) }.map(\.name).sorted()
        guard users.isEmpty else {
            throw SwiftletError.secretInUse(name, by: users)
        }
        secrets[name] = nil
        return true
    }

    public func secretNames() -> [SecretInfo] {
        secrets.map { SecretInfo(name: $0.key, namespace: $0.value.namespace) }.sorted { $0.name < $1.name }
    }

    public func secretValues(_ names: [String]) throws -> [String: Data] {
        var seen: Set<String> = []
        let missing = names.filter { secrets[$0] == nil && seen.insert($0).inserted }
        guard missing.isEmpty else {
            throw SwiftletError.missingSecrets(missing)
        }
        return names.reduce(into: [:]) { values, name in values[name] = secrets[name]?.value }
    }

    /// Throws `.invalidInput` naming the secrets in `names` that are not stored.
    func requireSecrets(_ names: [String]) throws {
        let missing = names.filter { secrets[$0] == nil }
        guard missing.isEmpty else {
            throw SwiftletError.missingSecrets(missing, code: .invalidInput)
        }
    }
}
