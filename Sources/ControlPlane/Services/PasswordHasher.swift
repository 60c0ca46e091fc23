import HummingbirdBcrypt
import NIOPosix
import PersonaKit

/// bcrypt hashing off the event loops (a cost-12 hash takes a few hundred milliseconds).
struct PasswordHasher: Sendable {
    var cost: UInt8

    /// A bcrypt hash of `password`.
    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`. A malformed hash is a mismatch.
    func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Password rules for new passwords.
    static func validate(_ password: String) throws {
        guard password.count >= 12 else { throw APIError.validation("Password must be at least 12 characters") }
        guard password.utf8.count <= 72 else {
            throw APIError.validation("Password must be at most 72 bytes (bcrypt's limit)")
        }
    }
}
