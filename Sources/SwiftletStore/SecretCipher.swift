import Crypto
import Foundation
import SwiftletCore

/// Seals secret values with AES-256-GCM for the database.
///
/// A sealed value is the nonce, the ciphertext and the tag (the `combined` form), nothing else.
/// The secret's name is the authenticated data, so a sealed value opens only under its own name:
/// rows swapped in the database fail to open instead of handing one secret's value to another.
struct SecretCipher: Sendable {
    /// The key.
    let key: SymmetricKey

    /// Encrypts `value` for the secret `name` with a fresh random nonce.
    func seal(_ value: Data, name: String) throws -> Data {
        let box = try AES.GCM.seal(value, using: key, nonce: AES.GCM.Nonce(), authenticating: Data(name.utf8))
        guard let combined = box.combined else {
            throw SwiftletError(.internal, "cannot encrypt secret '\(name)': AES-GCM gave no combined form")
        }
        return combined
    }

    /// Decrypts the sealed value of the secret `name`; fails when the key or the name differ
    /// from the ones it was sealed with, or the bytes were changed.
    func open(_ sealed: Data, name: String, keyPath: String) throws -> Data {
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Data(name.utf8))
        } catch {
            throw SwiftletError(
                .internal,
                "cannot decrypt secret '\(name)': \(keyPath) is not the key it was stored with, or the database was altered; "
                    + "restore that key file, or set the secret again with `swiftlet secret update \(name)`"
            )
        }
    }
}
