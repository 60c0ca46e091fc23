import PersonaCore

/// Why a backup or a restore stopped. The message says what to do about it and is printed as
/// is by the executable; ``underlying`` is for the log.
public struct BackupError: Error, Sendable, CustomStringConvertible {
    /// Stable snake_case codes (PersonaCore's ``ErrorCode`` convention).
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The backup directory exists and holds something.
        public static let destinationNotEmpty: Code = "destination_not_empty"
        /// The backup directory would be inside `STORAGE_PATH`.
        public static let destinationInsideStorage: Code = "destination_inside_storage"
        /// The directory holds no manifest, or one this version cannot read.
        public static let invalidManifest: Code = "invalid_manifest"
        /// A file named in the manifest is missing from the backup directory.
        public static let missingFile: Code = "missing_file"
        /// A file's size or SHA-256 differs from the manifest.
        public static let checksumMismatch: Code = "checksum_mismatch"
        /// The target database already holds tables (restore without `--force`).
        public static let targetNotEmpty: Code = "target_not_empty"
        /// A control plane has the SQLite file open.
        public static let databaseInUse: Code = "database_in_use"
        /// The backup's backend, schema or migrations do not fit the configured database.
        public static let incompatible: Code = "incompatible"
        /// `pg_dump` or `pg_restore` was not found.
        public static let toolMissing: Code = "tool_missing"
        /// `pg_dump` or `pg_restore` is older than the server or the dump.
        public static let toolTooOld: Code = "tool_too_old"
        /// `pg_dump` or `pg_restore` failed.
        public static let toolFailed: Code = "tool_failed"
        /// Reading or writing a file failed.
        public static let io: Code = "io_failed"
        /// The database could not be read or written.
        public static let database: Code = "database_failed"
    }

    public var code: Code
    public var message: String
    /// What went wrong underneath, for `String(reflecting:)` in the log.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)" + (underlying.map { " (\(String(reflecting: $0)))" } ?? "")
    }
}
