import Foundation

/// The language runners shipped with Swiftlet (`python3/runner.py`, `node/runner.js`), as
/// package resources. The native provider binds this directory read-only into every sandbox.
public enum SwiftletRunners {
    /// The directory holding `python3/` and `node/`.
    public static var directory: String {
        Bundle.module.resourceURL?.path ?? Bundle.module.bundlePath
    }
}
