import Foundation
import Logging
import NIOPosix
import PersonaCore
import PersonaKit
import PersonaStorage

/// `persona-control-plane backup --to DIR`: a consistent copy of the database and of
/// `STORAGE_PATH`, safe while the control plane runs and writes.
///
/// The database is copied first, in one consistent state (SQLite's online backup API in a
/// single step; `pg_dump` in an exported snapshot), then the files (see ``StorageTree``). A
/// document uploaded after the database copy is copied too (unused by the copy); one deleted in
/// between is named in the manifest's warnings. Everything is written to a private directory
/// beside `DIR` and renamed to `DIR` once the manifest is written (into an existing empty `DIR`,
/// the manifest is written last), so a `DIR` with a manifest is always complete.
public struct BackupService: Sendable {
    public let configuration: AppConfiguration
    /// The PostgreSQL schema the control plane uses before `public` (tests); `nil` in production.
    public let searchPath: String?
    public let tools: PostgresTools
    public let logger: Logger

    /// - Parameter tools: `pg_dump` and `pg_restore` (by default from `PERSONA_PG_DUMP`,
    ///   `PERSONA_PG_RESTORE` or `PATH`); only PostgreSQL needs them.
    public init(configuration: AppConfiguration, searchPath: String? = nil, tools: PostgresTools = .locate(), logger: Logger) {
        self.configuration = configuration
        self.searchPath = searchPath
        self.tools = tools
        self.logger = logger
    }

    /// What a finished backup holds.
    public struct Summary: Sendable, CustomStringConvertible {
        public var directory: String
        public var manifest: BackupManifest
        public var duration: Duration

        public var description: String {
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return "backup \(directory): \(manifest.backend) database at migration \(manifest.migrationVersion), "
                + "\(manifest.files.count) files, \(manifest.totalBytes) bytes in \(String(format: "%.1f", seconds)) s"
                + (manifest.warnings.isEmpty ? "" : "; \(manifest.warnings.count) warnings: " + manifest.warnings.joined(separator: "; "))
        }
    }

    /// Backs up into `directory`, which must not exist or be empty (its parents are created).
    /// - Throws: ``BackupError`` (`destination_not_empty`, the PostgreSQL tool errors, `io_failed`,
    ///   `database_failed`); nothing is left in `directory` then.
    public func run(to directory: String) async throws -> Summary {
        let clock = ContinuousClock(), started = clock.now
        let destination = URL(fileURLWithPath: directory).standardizedFileURL.path
        let parent = (destination as NSString).deletingLastPathComponent
        let exists = try Self.checkDestination(destination)
        guard !Self.isInside(destination, configuration.storagePath) else {
            throw BackupError(.destinationInsideStorage, "\(destination) is inside STORAGE_PATH (\(configuration.storagePath)): back up to a directory outside it (the next backup would copy this one, and a restore would replace it)")
        }
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        // Beside DIR, so the final rename stays on one file system.
        let work = exists ? destination : parent + "/." + (destination as NSString).lastPathComponent + ".partial-" + Identifier.make()
        if !exists { try FileIO.makeDirectory(work) }
        chmod(work, 0o700)
        do {
            try FileIO.makeDirectory(work + "/database")
            try FileIO.makeDirectory(work + "/storage")
            var (manifest, documents) = try await copyDatabase(into: work)
            let tree = StorageTree(root: configuration.storagePath)
            let (entries, warnings) = try await NIOThreadPool.singleton.runIfActive { [logger] in
                try tree.copy(into: work + "/storage", logger: logger)
            }
            manifest.entries += entries
            manifest.warnings += warnings
            let copied = Set(entries.map(\.path))
            for sha in documents.sorted() where !copied.contains("storage/documents/\(sha.prefix(2))/\(sha)") {
                manifest.warnings.append("document file \(sha) is named by the database copy but was gone when the files were copied")
            }
            try await NIOThreadPool.singleton.runIfActive { [manifest] in
                try manifest.write(into: work)
                if !exists {
                    try FileIO.rename(work, destination)
                    FileIO.syncDirectory(parent)
                }
            }
        } catch {
            if exists {
                for name in (try? FileIO.children(destination)) ?? [] { FileIO.removeTree(destination + "/" + name) }
            } else {
                FileIO.removeTree(work)
            }
            logger.error("backup failed", metadata: ["directory": "\(destination)", "error": "\(error)"])
            throw error
        }
        let manifest = try BackupManifest.read(from: destination)
        let summary = Summary(directory: destination, manifest: manifest, duration: clock.now - started)
        logger.info("backup written", metadata: [
            "directory": "\(destination)", "backend": "\(manifest.backend)", "files": "\(manifest.files.count)",
            "bytes": "\(manifest.totalBytes)", "warnings": "\(manifest.warnings.count)", "duration": "\(summary.duration)",
        ])
        return summary
    }

    /// Whether `path` is `root` or under it, links in their existing parts resolved.
    static func isInside(_ path: String, _ root: String) -> Bool {
        func resolved(_ path: String) -> String {
            var existing = URL(fileURLWithPath: path).standardizedFileURL.path
            var rest: [String] = []
            while FileIO.metadata(existing) == nil && existing != "/" {
                rest.insert((existing as NSString).lastPathComponent, at: 0)
                existing = (existing as NSString).deletingLastPathComponent
            }
            let real = URL(fileURLWithPath: existing).resolvingSymlinksInPath().path
            return ([real] + rest).joined(separator: "/").replacingOccurrences(of: "//", with: "/")
        }
        let path = resolved(path), root = resolved(root)
        return path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// Refuses a destination that is a file or a directory with something in it.
    /// - Returns: whether it exists (an empty directory).
    static func checkDestination(_ path: String) throws -> Bool {
        guard let metadata = FileIO.metadata(path) else { return false }
        guard metadata.kind == .directory else {
            throw BackupError(.destinationNotEmpty, "\(path) exists and is not a directory: back up into a new or empty directory")
        }
        guard try FileIO.children(path).isEmpty else {
            throw BackupError(.destinationNotEmpty, "\(path) is not empty: back up into a new or empty directory")
        }
        return true
    }

    /// Copies the database into `work/database/` and starts the manifest with it.
    /// - Returns: the manifest so far and the SHA-256 of every document the copy names.
    private func copyDatabase(into work: String) async throws -> (BackupManifest, Set<String>) {
        var manifest: BackupManifest
        var documents: Set<String>
        let path: String
        if let url = configuration.databaseURL {
            path = "database/postgres.dump"
            let dumped = try await Database.with(configuration: configuration, searchPath: searchPath, logger: logger) { database in
                try await PostgresBackup(connection: try PostgresConnectionInfo(url: url), tools: tools, database: database, logger: logger)
                    .dump(to: work + "/" + path)
            }
            manifest = BackupManifest(createdAt: Date(), backend: "postgres", migrationVersion: dumped.migrationVersion,
                                      database: .init(path: path, schema: dumped.schema, serverVersion: dumped.serverVersion,
                                                      dumpVersion: dumped.dumpVersion, extensions: dumped.extensions), entries: [])
            documents = dumped.documents
        } else {
            path = "database/persona.db"
            let source = configuration.sqlitePath
            let copied = try await NIOThreadPool.singleton.runIfActive {
                try SQLiteCopy.backup(source, to: work + "/" + path)
            }
            manifest = BackupManifest(createdAt: Date(), backend: "sqlite", migrationVersion: copied.migrationVersion,
                                      database: .init(path: path), entries: [])
            documents = copied.documents
        }
        let (size, digest) = try FileIO.digest(work + "/" + path)
        let original = configuration.databaseURL == nil ? FileIO.metadata(configuration.sqlitePath) : nil
        manifest.entries = [
            .init(path: path, kind: .file, size: size, sha256: digest, mode: original?.mode ?? 0o600, uid: original?.uid ?? getuid(),
                  gid: original?.gid ?? getgid(), modifiedAt: nil),
        ]
        return (manifest, documents)
    }
}
