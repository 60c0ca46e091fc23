import Foundation
import Logging
import NIOPosix
import PersonaCore
import PersonaKit
import PersonaStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `persona-control-plane restore --from DIR [--force]`: puts a backup back under the configured
/// database and `STORAGE_PATH`, with no control plane running.
///
/// In order: every file of the backup is checked against the manifest (nothing is written
/// before all match); the target is checked (an SQLite file open elsewhere is refused, a
/// database with tables or a `STORAGE_PATH` with documents, tools or personas is refused unless
/// `force`); the files are copied into a private directory inside `STORAGE_PATH` with their
/// owners, modes and times; the database is restored; then the copied directories are renamed
/// into place (with `force`, replacing what was there).
public struct RestoreService: Sendable {
    public let configuration: AppConfiguration
    /// The PostgreSQL schema the control plane uses before `public` (tests); `nil` in production.
    public let searchPath: String?
    public let tools: PostgresTools
    public let logger: Logger

    public init(configuration: AppConfiguration, searchPath: String? = nil, tools: PostgresTools = .locate(), logger: Logger) {
        self.configuration = configuration
        self.searchPath = searchPath
        self.tools = tools
        self.logger = logger
    }

    /// What a finished restore put back.
    public struct Summary: Sendable, CustomStringConvertible {
        public var directory: String
        public var manifest: BackupManifest
        public var duration: Duration
        /// The restore could not give files their original owners (it did not run as root).
        public var ownershipKept: Bool

        public var description: String {
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return "restored \(directory): \(manifest.backend) database at migration \(manifest.migrationVersion), "
                + "\(manifest.files.count) files, \(manifest.totalBytes) bytes in \(String(format: "%.1f", seconds)) s"
                + (ownershipKept ? "; files keep the restoring user as owner (not run as root)" : "")
        }
    }

    /// Reads the manifest of the backup at `directory` and checks every file it names: present,
    /// of its size and SHA-256.
    /// - Throws: ``BackupError`` `invalid_manifest`, `missing_file` or `checksum_mismatch`, naming
    ///   the file.
    public static func verify(_ directory: String) throws -> BackupManifest {
        let manifest = try BackupManifest.read(from: directory)
        for entry in manifest.files {
            let path = directory + "/" + entry.path
            guard FileIO.metadata(path)?.kind == .file else {
                throw BackupError(.missingFile, "\(entry.path) is missing from the backup \(directory): the backup is incomplete, nothing was restored")
            }
            let (size, digest) = try FileIO.digest(path)
            guard size == entry.size, digest == entry.sha256 else {
                throw BackupError(.checksumMismatch, "\(entry.path) does not match the manifest (size \(size), SHA-256 \(digest); expected size \(entry.size ?? -1), \(entry.sha256 ?? "?")): the backup is damaged or was changed, nothing was restored")
            }
        }
        return manifest
    }

    /// Restores the backup at `directory`.
    /// - Parameter force: replace a database with tables and the documents, tools and personas
    ///   already in `STORAGE_PATH`.
    /// - Throws: ``BackupError``; a failure before the database step leaves the target as it was.
    public func run(from directory: String, force: Bool = false) async throws -> Summary {
        let clock = ContinuousClock(), started = clock.now
        let source = URL(fileURLWithPath: directory).standardizedFileURL.path
        let manifest = try await NIOThreadPool.singleton.runIfActive { try Self.verify(source) }
        let backend = configuration.databaseURL == nil ? "sqlite" : "postgres"
        guard manifest.backend == backend else {
            throw BackupError(.incompatible, "the backup holds a \(manifest.backend) database, but the configuration uses \(backend) (DATABASE_URL): restore it into the same kind of database")
        }
        let known = Database.migrations.map(\.version).max() ?? 0
        guard manifest.migrationVersion <= known else {
            throw BackupError(.incompatible, "the backup's database is at migration \(manifest.migrationVersion), newer than this control plane knows (\(known)): restore it with the control plane that wrote it, or a newer one")
        }
        let root = URL(fileURLWithPath: configuration.storagePath).standardizedFileURL.path
        var ownershipKept = false
        if let url = configuration.databaseURL {
            ownershipKept = try await Database.with(configuration: configuration, searchPath: searchPath, logger: logger) { database in
                let postgres = PostgresRestore(connection: try PostgresConnectionInfo(url: url), tools: tools, database: database, logger: logger)
                let target = try await postgres.check(manifest, force: force)
                let replaced = try checkStorage(root, manifest: manifest, force: force)
                return try await restoreFiles(manifest, from: source, into: root, replacing: replaced) {
                    try await postgres.restore(manifest, dump: source + "/" + manifest.database.path, target: target)
                }
            }
        } else {
            let target = configuration.sqlitePath
            try await NIOThreadPool.singleton.runIfActive { try SQLiteCopy.check(target, force: force) }
            let replaced = try checkStorage(root, manifest: manifest, force: force)
            ownershipKept = try await restoreFiles(manifest, from: source, into: root, replacing: replaced) {
                try await NIOThreadPool.singleton.runIfActive {
                    var kept = false
                    guard let entry = manifest.entries.first(where: { $0.path == manifest.database.path }) else { return }
                    try SQLiteCopy.restore(entry, from: source + "/" + entry.path, to: target, ownershipKept: &kept)
                    let restored = try SQLiteConnection(path: target)
                    defer { restored.close() }
                    let version = try restored.execute("SELECT max(version) FROM schema_migrations").first?.first?.integer ?? 0
                    guard version == manifest.migrationVersion else {
                        throw BackupError(.database, "the restored database is at migration \(version), the backup at \(manifest.migrationVersion)")
                    }
                }
            }
        }
        let summary = Summary(directory: source, manifest: manifest, duration: clock.now - started, ownershipKept: ownershipKept)
        logger.info("backup restored", metadata: [
            "directory": "\(source)", "backend": "\(manifest.backend)", "files": "\(manifest.files.count)",
            "bytes": "\(manifest.totalBytes)", "duration": "\(summary.duration)", "forced": "\(force)",
        ])
        return summary
    }

    /// The top-level names of `STORAGE_PATH` a restore replaces: the backup's own and the
    /// control plane's known directories. The development secrets the restore command may just
    /// have generated, and anything else, are never counted or removed.
    /// - Returns: those that exist now (replaced, with `force`).
    /// - Throws: ``BackupError`` `target_not_empty` when one holds something and `force` is off.
    func checkStorage(_ root: String, manifest: BackupManifest, force: Bool) throws -> [String] {
        let restored = Set(manifest.entries.compactMap { entry -> String? in
            let parts = entry.path.split(separator: "/")
            return parts.count >= 2 && parts[0] == "storage" ? String(parts[1]) : nil
        })
        let names = restored.union(["documents", "tools", "personas"])
        let present = names.filter { FileIO.metadata(root + "/" + $0) != nil }.sorted()
        let used = present.filter { name in
            name != "dev-secrets.env" && !(FileIO.metadata(root + "/" + name)?.kind == .directory
                                           && ((try? FileIO.children(root + "/" + name).isEmpty) ?? false))
        }
        if !used.isEmpty && !force {
            throw BackupError(.targetNotEmpty, "STORAGE_PATH \(root) already holds \(used.joined(separator: ", ")): restore into an empty STORAGE_PATH, or pass --force to replace them")
        }
        return present.filter { restored.contains($0) || $0 != "dev-secrets.env" }
    }

    /// Copies the backup's files into a private directory inside `root`, runs `restoreDatabase`,
    /// then renames the copies into place, moving `replacing` aside first and removing it after.
    /// - Returns: whether some owners could not be restored (not root).
    private func restoreFiles(_ manifest: BackupManifest, from source: String, into root: String, replacing: [String],
                              restoreDatabase: () async throws -> Void) async throws -> Bool {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let staging = root + "/.restore-" + Identifier.make()
        try FileIO.makeDirectory(staging)
        var ownershipKept = false
        do {
            ownershipKept = try await NIOThreadPool.singleton.runIfActive { try Self.stage(manifest, from: source, into: staging) }
            try await restoreDatabase()
            try await NIOThreadPool.singleton.runIfActive { try Self.swap(staging, into: root, replacing: replacing) }
        } catch {
            FileIO.removeTree(staging)
            logger.error("restore failed", metadata: ["directory": "\(source)", "error": "\(error)"])
            throw error
        }
        FileIO.removeTree(staging)
        return ownershipKept
    }

    /// Writes every `storage/` entry under `staging`: files copied and checked again against the
    /// manifest, links made, then each directory given its mode, owner and time (deepest first,
    /// once nothing more is written into it).
    static func stage(_ manifest: BackupManifest, from source: String, into staging: String) throws -> Bool {
        var ownershipKept = false
        var directories: [(BackupManifest.Entry, String)] = []
        for entry in manifest.entries where entry.path.hasPrefix("storage/") {
            let target = staging + "/" + entry.path.dropFirst("storage/".count)
            switch entry.kind {
            case .directory:
                try FileIO.makeDirectory(target)
                directories.append((entry, target))
            case .file:
                let (size, digest) = try FileIO.copy(from: source + "/" + entry.path, to: target)
                guard size == entry.size, digest == entry.sha256 else {
                    throw BackupError(.checksumMismatch, "\(entry.path) changed while it was restored: its SHA-256 is now \(digest)")
                }
                try FileIO.apply(entry, to: target, ownershipKept: &ownershipKept)
            case .symlink:
                guard symlink(entry.target ?? "", target) == 0 else { throw FileIO.failure("cannot create the link", target) }
                try FileIO.apply(entry, to: target, ownershipKept: &ownershipKept)
            }
        }
        for (entry, target) in directories.reversed() { try FileIO.apply(entry, to: target, ownershipKept: &ownershipKept) }
        return ownershipKept
    }

    /// Renames each top-level entry of `staging` into `root`; what `replacing` names is moved
    /// into a directory beside first and removed once everything is in place.
    static func swap(_ staging: String, into root: String, replacing: [String]) throws {
        let aside = staging + "-replaced"
        if !replacing.isEmpty {
            try FileIO.makeDirectory(aside)
            for name in replacing { try FileIO.rename(root + "/" + name, aside + "/" + name) }
        }
        for name in try FileIO.children(staging) { try FileIO.rename(staging + "/" + name, root + "/" + name) }
        FileIO.syncDirectory(root)
        FileIO.removeTree(aside)
    }
}
