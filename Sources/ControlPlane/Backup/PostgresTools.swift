import Foundation
import PersonaCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `pg_dump` and `pg_restore`: where they are, how new they are, and how they are run against
/// the configured database without the password ever reaching a command line.
public struct PostgresTools: Sendable {
    /// Paths of the executables (`nil`: not found).
    public var pgDump: String?
    public var pgRestore: String?

    public init(pgDump: String?, pgRestore: String?) {
        self.pgDump = pgDump
        self.pgRestore = pgRestore
    }

    /// `PERSONA_PG_DUMP` / `PERSONA_PG_RESTORE` when set, otherwise the first `pg_dump` /
    /// `pg_restore` on `PATH`.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> PostgresTools {
        func find(_ variable: String, _ name: String) -> String? {
            if let path = environment[variable], !path.isEmpty { return path }
            for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if access(candidate, X_OK) == 0 { return candidate }
            }
            return nil
        }
        return PostgresTools(pgDump: find("PERSONA_PG_DUMP", "pg_dump"), pgRestore: find("PERSONA_PG_RESTORE", "pg_restore"))
    }

    /// The executable for `name`, or a ``BackupError`` saying how to provide it.
    func require(_ path: String?, _ name: String, variable: String) throws -> String {
        guard let path, access(path, X_OK) == 0 else {
            throw BackupError(.toolMissing, "\(name) was not found\(path.map { " at \($0)" } ?? " on PATH"): install the PostgreSQL client of the server's major version (or newer) and put it on PATH, or set \(variable) to its path")
        }
        return path
    }

    /// The version a tool prints (`pg_dump (PostgreSQL) 16.14` -> `16.14`) and its major number.
    static func version(of executable: String) async throws -> (text: String, major: Int) {
        let result = try await ChildProcess.run(executable, ["--version"], environment: ProcessInfo.processInfo.environment)
        guard result.status == 0, let version = parseVersion(result.output) else {
            throw BackupError(.toolFailed, "\(executable) --version did not print a PostgreSQL version: \(result.errorTail)")
        }
        return version
    }

    /// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> (`15.18`, 15).
    static func parseVersion(_ text: String) -> (text: String, major: Int)? {
        guard let range = text.range(of: "(PostgreSQL) ") else { return nil }
        let rest = text[range.upperBound...].prefix { !$0.isWhitespace }
        guard let major = Int(rest.prefix { $0.isNumber }) else { return nil }
        return (String(rest), major)
    }

    /// Refuses a tool older than the server (PostgreSQL's rule: `pg_dump` must be at least the
    /// server's major version) with what to do.
    static func requireAtLeast(_ tool: (text: String, major: Int), _ name: String, at path: String, major: Int,
                               of what: String, variable: String) throws {
        guard tool.major >= major else {
            throw BackupError(.toolTooOld, "\(name) at \(path) is version \(tool.text), older than the \(what): install the PostgreSQL \(major) client (or newer) and set \(variable) to its \(name)")
        }
    }
}

/// How `pg_dump` and `pg_restore` reach the configured database: host, port, user, database and
/// TLS mode as a libpq connection string, the password in a 0600 password file named by
/// `PGPASSFILE` in the child's environment (never an argument, never `PGPASSWORD`).
struct PostgresConnectionInfo {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var sslMode: String

    /// Parses `DATABASE_URL` the way the control plane does (`Database.postgresConfiguration`):
    /// a `host=` query parameter that is a directory means the server's unix socket there.
    init(url: String) throws {
        guard let parts = URLComponents(string: url), parts.scheme == "postgres" || parts.scheme == "postgresql" else {
            throw ConfigurationError("DATABASE_URL is not a valid postgres:// URL")
        }
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let path = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        database = path.removingPercentEncoding ?? path
        user = parts.user?.removingPercentEncoding ?? "postgres"
        password = parts.password?.removingPercentEncoding
        if let directory = query["host"], directory.hasPrefix("/") {
            host = directory
            port = parts.port ?? Int(query["port"] ?? "") ?? 5432
            sslMode = "disable"
        } else {
            guard let name = parts.host, !name.isEmpty else { throw ConfigurationError("DATABASE_URL names no host") }
            host = name
            port = parts.port ?? 5432
            sslMode = query["sslmode"] ?? (["localhost", "127.0.0.1", "::1"].contains(name) ? "disable" : "prefer")
        }
        if database.isEmpty { database = user }
    }

    /// `host=... port=... user=... dbname=... sslmode=...`, values quoted for libpq.
    var connectionString: String {
        func quoted(_ value: String) -> String {
            "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        }
        return ["host": host, "port": String(port), "user": user, "dbname": database, "sslmode": sslMode, "application_name": "persona-control-plane"]
            .sorted { $0.key < $1.key }.map { "\($0.key)=\(quoted($0.value))" }.joined(separator: " ")
    }

    /// Variables of the caller's environment that would change where or as whom a tool connects
    /// (the connection string sets the rest, and wins over the environment).
    static let droppedVariables: Set<String> = ["PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGHOSTADDR"]

    /// Runs `body` with the child environment for a libpq tool and a private temporary directory
    /// (removed afterwards): the caller's environment without ``droppedVariables``, plus
    /// `PGPASSFILE` naming a 0600 password file in that directory.
    func withEnvironment<T>(_ body: ([String: String], String) async throws -> T) async throws -> T {
        var template = Array("/tmp/persona-pg-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FileIO.failure("cannot create a temporary directory in", "/tmp")
        }
        let directory = String(cString: made)
        defer { FileIO.removeTree(directory) }
        var environment = ProcessInfo.processInfo.environment.filter { !Self.droppedVariables.contains($0.key) }
        if let password {
            func escaped(_ value: String) -> String {
                value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
            }
            let passfile = directory + "/pgpass"
            try FileIO.writeNew(passfile, data: Data("*:*:*:*:\(escaped(password))\n".utf8))
            environment["PGPASSFILE"] = passfile
        }
        environment["PGCONNECT_TIMEOUT"] = "15"
        return try await body(environment, directory)
    }
}
