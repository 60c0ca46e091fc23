import Foundation

/// What a backup directory holds, written last as `manifest.json`: the database copy and every
/// file, directory and link taken from `STORAGE_PATH`, each file with its size and SHA-256.
///
/// Paths are relative to the backup directory: the database copy under `database/`, the
/// storage under `storage/` (`storage/documents/ab/ab12...`). The original mode, owner and
/// modification time of each entry are kept for the restore; the copies in the backup
/// directory are all private (0600 files, 0700 directories).
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"
    public static let formatName = "persona-platform-backup"
    /// Raised when a change needs a newer restore; a restore refuses a newer format.
    public static let currentFormatVersion = 1

    public var format = Self.formatName
    public var formatVersion = Self.currentFormatVersion
    public var createdAt: Date
    /// `sqlite` or `postgres`.
    public var backend: String
    /// The newest migration applied in the copied database (`schema_migrations`).
    public var migrationVersion: Int
    public var database: DatabaseCopy
    /// Every entry, parents before their children.
    public var entries: [Entry]
    /// What the backup noticed but copied anyway (a skipped FIFO, a document file gone).
    public var warnings: [String] = []

    /// The database part.
    public struct DatabaseCopy: Codable, Sendable, Equatable {
        /// The copy's path in the backup directory (also an entry).
        public var path: String
        /// PostgreSQL: the schema that was dumped (restored under the same name).
        public var schema: String?
        /// PostgreSQL: the server's version (`16.4`).
        public var serverVersion: String?
        /// PostgreSQL: the `pg_dump` that wrote the dump (`16.14`); `pg_restore` must be as new.
        public var dumpVersion: String?
        /// PostgreSQL: extensions the schema's tables use (`vector`), created by the restore
        /// when missing.
        public var extensions: [String]?
    }

    /// One file, directory or symbolic link.
    public struct Entry: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case file, directory, symlink }

        public var path: String
        public var kind: Kind
        /// Files: the copy's size in bytes and its SHA-256 (lower-case hex).
        public var size: Int64?
        public var sha256: String?
        /// Links: where it points (never followed by a backup or a restore).
        public var target: String?
        /// Permission bits (`0o755` as 493), owner and group of the original.
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        /// Seconds since 1970.
        public var modifiedAt: Double?
    }

    /// Files only (the database copy included).
    public var files: [Entry] { entries.filter { $0.kind == .file } }
    public var totalBytes: Int64 { files.reduce(0) { $0 + ($1.size ?? 0) } }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Reads and checks the manifest of the backup at `directory`.
    /// - Throws: ``BackupError`` `invalid_manifest` when it is missing, unreadable, of a newer
    ///   format, or names a path that could leave the directory or pass through a link.
    public static func read(from directory: String) throws -> BackupManifest {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackupError(.invalidManifest, "\(path) does not exist: \(directory) is not a complete backup (a backup writes its manifest last)")
        }
        let manifest: BackupManifest
        do {
            manifest = try decoder.decode(BackupManifest.self, from: data)
        } catch {
            throw BackupError(.invalidManifest, "\(path) is not a backup manifest", underlying: error)
        }
        try manifest.validate()
        return manifest
    }

    /// Checks what a restore relies on: a known format, safe relative paths whose parents are
    /// directories of the manifest (so no entry is written through a link), files with a size
    /// and a digest, and a database copy among the files.
    func validate() throws {
        func invalid(_ message: String) -> BackupError { BackupError(.invalidManifest, "manifest.json: \(message)") }
        guard format == Self.formatName else { throw invalid("format \(format) is not \(Self.formatName)") }
        guard formatVersion <= Self.currentFormatVersion else {
            throw invalid("format version \(formatVersion) is newer than this control plane reads (\(Self.currentFormatVersion)); restore with a newer one")
        }
        guard backend == "sqlite" || backend == "postgres" else { throw invalid("unknown backend \(backend)") }
        var directories: Set<String> = ["database", "storage"]
        var seen: Set<String> = []
        for entry in entries {
            let parts = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !entry.path.contains("\0"),
                  parts[0] == "database" || parts[0] == "storage" else {
                throw invalid("the path \(entry.path) is not a plain path under database/ or storage/")
            }
            guard seen.insert(entry.path).inserted else { throw invalid("\(entry.path) is listed twice") }
            guard directories.contains(parts.dropLast().joined(separator: "/")) else {
                throw invalid("\(entry.path) is not inside a directory listed before it")
            }
            switch entry.kind {
            case .directory:
                directories.insert(entry.path)
            case .file:
                guard let size = entry.size, size >= 0, let digest = entry.sha256, digest.count == 64,
                      digest.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                    throw invalid("\(entry.path) has no size or SHA-256")
                }
            case .symlink:
                guard let target = entry.target, !target.isEmpty, !target.contains("\0") else { throw invalid("\(entry.path) is a link without a target") }
            }
        }
        guard entries.contains(where: { $0.path == database.path && $0.kind == .file && database.path.hasPrefix("database/") }) else {
            throw invalid("the database copy \(database.path) is not among the files")
        }
        if backend == "postgres" && database.schema == nil { throw invalid("a PostgreSQL backup without its schema") }
    }

    /// Writes the manifest into `directory` through a temporary file and a rename, synced, so
    /// a reader sees the whole manifest or none.
    func write(into directory: String) throws {
        let data = try Self.encoder.encode(self)
        let temporary = (directory as NSString).appendingPathComponent(Self.fileName + ".tmp")
        try FileIO.writeNew(temporary, data: data)
        try FileIO.rename(temporary, (directory as NSString).appendingPathComponent(Self.fileName))
        FileIO.syncDirectory(directory)
    }
}
