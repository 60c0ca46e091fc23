import Foundation
import Logging
import PersonaKit
import PersonaStorage
import PersonaCore

/// Creates the first administrator when the database has no users: from
/// `PERSONA_ADMIN_EMAIL`/`PERSONA_ADMIN_PASSWORD`, or in development with a generated
/// password printed once to the log.
struct AdminBootstrap: Sendable {
    let configuration: AppConfiguration
    let database: Database
    let passwords: PasswordHasher
    let users = UserRepository()
    let audit = AuditRepository()
    let logger: Logger

    func run() async throws {
        let count = try await database.withConnection { try await users.count(on: $0) }
        guard count == 0 else { return }
        let configuration = configuration
        let email = try Validate.email(configuration.adminEmail ?? "admin@persona.local")
        var password = configuration.adminPassword
        var generated = false
        if password == nil {
            guard configuration.mode == .development else {
                throw ConfigurationError("No users exist: set PERSONA_ADMIN_EMAIL and PERSONA_ADMIN_PASSWORD to create the first admin")
            }
            password = DevelopmentSecrets.randomHex(bytes: 12)
            generated = true
        }
        do {
            try PasswordHasher.validate(password!)
        } catch let error as APIError {
            throw ConfigurationError("PERSONA_ADMIN_PASSWORD: \(error.message)")
        }
        let user = User(id: Identifier.make(), email: email, name: "Administrator",
                        passwordHash: try await passwords.hash(password!), role: .admin, isActive: true, now: Date())
        // Start-up work has no request: it gets a trace of its own, in the log and the audit row.
        let trace = TraceContext.newRoot()
        try await database.transaction { tx in
            try await users.insert(user, on: tx)
            try await audit.insert(AuditEvent(userId: nil, traceId: trace.traceId, eventType: "user.bootstrap_admin",
                                                       eventCategory: "user", description: "First administrator created",
                                                       metadata: ["targetUserId": .string(user.id), "email": .string(email)]), on: tx)
        }
        if generated {
            // Printed once, on the first start only; it is never stored in clear.
            logger.notice("created the first administrator with a generated password (printed on the console)",
                          metadata: ["email": "\(email)", "trace_id": "\(trace.traceId)"])
            let notice = "\nFirst administrator created:\n  email:    \(email)\n  password: \(password!)\n(shown once; change it with PATCH /api/users/me)\n\n"
            FileHandle.standardOutput.write(Data(notice.utf8))
        } else {
            logger.notice("created the first administrator", metadata: ["email": "\(email)", "trace_id": "\(trace.traceId)"])
        }
    }
}
