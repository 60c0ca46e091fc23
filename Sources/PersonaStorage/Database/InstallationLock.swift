import SQLKit

/// PostgreSQL advisory locks that serialize one kind of change within an installation: every
/// replica of a control plane on the same database and schema takes the same lock, and an
/// installation in another schema of the same database (every test's app, in the test suite)
/// does not wait for it. Transaction-scoped: released with the commit or rollback. SQLite's
/// `BEGIN IMMEDIATE` already serializes writers, so these are PostgreSQL's only.
package enum InstallationLock: Int32, Sendable {
    /// Applying migrations (two replicas starting at once).
    case migrations = 7_346_012
    /// Changing the tool catalog (registrations and uploads resolve against the whole catalog).
    case toolCatalog = 7_346_013
}

extension SQLDatabase {
    /// Takes `lock` for this installation until the transaction ends (PostgreSQL only).
    package func lock(_ lock: InstallationLock) async throws {
        try await raw("SELECT pg_advisory_xact_lock(\(bind: lock.rawValue), hashtext(current_schema()))").run()
    }
}
