import Foundation
import PersonaCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The SQLite half of a backup and a restore: `STORAGE_PATH/persona.db` copied through SQLite's
/// online backup API, and put back in place while no control plane has it open.
enum SQLiteCopy {
    /// Copies the live database at `source` to `destination` and reads the copy's migration
    /// version and stored documents.
    /// - Throws: ``BackupError`` `database_failed` when there is no database or SQLite fails,
    ///   `incompatible` when it holds no control-plane tables.
    static func backup(_ source: String, to destination: String) throws -> (migrationVersion: Int, documents: Set<String>) {
        guard FileIO.metadata(source)?.kind == .file else {
            throw BackupError(.database, "there is no SQLite database at \(source): check STORAGE_PATH (and DATABASE_URL for PostgreSQL)")
        }
        do {
            try SQLiteBackup.copy(from: source, to: destination)
            chmod(destination, 0o600)
            let copy = try SQLiteConnection(path: destination)
            defer { copy.close() }
            guard try copy.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").count == 1 else {
                throw BackupError(.incompatible, "\(source) has no control-plane tables (no schema_migrations): nothing to back up")
            }
            let version = try copy.execute("SELECT max(version) FROM schema_migrations").first?.first?.integer ?? 0
            let documents = try copy.execute("SELECT DISTINCT sha256 FROM documents").compactMap { $0.first?.text }
            return (Int(version), Set(documents))
        } catch let error as SQLiteError {
            throw BackupError(.database, "copying the SQLite database \(source) failed: \(error.message)", underlying: error)
        }
    }

    /// Checks the restore's target file: never while a control plane has it open; only over a
    /// database without tables unless `force`.
    /// - Throws: ``BackupError`` `database_in_use`, `target_not_empty`, `database_failed`.
    static func check(_ target: String, force: Bool) throws {
        guard FileIO.metadata(target) != nil else { return }
        do {
            if try SQLiteBackup.isOpenElsewhere(target) {
                throw BackupError(.databaseInUse, "\(target) is open in another process (a running control plane?): stop it before restoring")
            }
            let connection = try SQLiteConnection(path: target)
            defer { connection.close() }
            let tables = try connection.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").first?.first?.integer ?? 0
            if tables > 0 && !force {
                throw BackupError(.targetNotEmpty, "the target database \(target) already holds \(tables) tables: restore into an empty STORAGE_PATH, or pass --force to replace it")
            }
        } catch let error as SQLiteError {
            throw BackupError(.database, "\(target) cannot be read as an SQLite database: \(error.message)", underlying: error)
        }
    }

    /// Puts the backup's copy (`entry`, at `source`) in place as `target`: copied beside it and
    /// checked against the manifest, the old file's `-wal`, `-shm` and `-journal` removed (they
    /// would be replayed into the new file), then renamed over it.
    static func restore(_ entry: BackupManifest.Entry, from source: String, to target: String, ownershipKept: inout Bool) throws {
        let directory = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = directory + "/.restore-persona.db-\(getpid())"
        FileIO.removeTree(temporary)
        do {
            let (size, digest) = try FileIO.copy(from: source, to: temporary)
            guard size == entry.size, digest == entry.sha256 else {
                throw BackupError(.checksumMismatch, "\(entry.path) changed while it was restored: its SHA-256 is now \(digest)")
            }
            try FileIO.apply(entry, to: temporary, ownershipKept: &ownershipKept)
            for suffix in ["-wal", "-shm", "-journal"] where unlink(target + suffix) != 0 && errno != ENOENT {
                throw FileIO.failure("cannot remove", target + suffix)
            }
            try FileIO.rename(temporary, target)
            FileIO.syncDirectory(directory)
        } catch {
            FileIO.removeTree(temporary)
            throw error
        }
    }
}
