import Foundation
import Logging
import PersonaCore

/// `STORAGE_PATH` as a backup sees it: what is copied and what is left out.
///
/// Copied: uploaded documents (`documents/`), custom tools (`tools/`), each persona's
/// `workspace/` and `cache/` (the supervisor's journal, the browser profile), the development
/// secrets (`dev-secrets.env`) and anything else found there. Left out: the SQLite database
/// (the database part of the backup), `models/` (the embedding model, fetched again with
/// `scripts/fetch-models`), work in progress (`documents/incoming/`, `tools/.staging-*`), each
/// persona's `cache/memory.db` (a cache its supervisor rebuilds), an SQLite file's `-wal`,
/// `-shm` and `-journal` (the file itself is copied through SQLite's backup API, so what
/// those hold is in the copy), and FIFOs, sockets and devices.
struct StorageTree {
    /// `STORAGE_PATH`, absolute.
    let root: String

    static let skippedTopLevel: Set<String> = ["persona.db", "persona.db-wal", "persona.db-shm", "persona.db-journal", "models"]
    /// Top-level names that do not make a restore's target count as used: the embedding model,
    /// and the development secrets the restore command itself generates on its first start
    /// (the backup's copy replaces them).
    static let ignoredWhenChecking: Set<String> = ["models", "dev-secrets.env"]

    init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    /// Whether the entry `relative` (`name` in the directory `parent`) is left out.
    static func isSkipped(_ relative: String, name: String, parent: String) -> Bool {
        let depth = relative.split(separator: "/").count
        if depth == 1 && (skippedTopLevel.contains(name) || name.hasPrefix(".restore-")) { return true }
        if relative == "documents/incoming" { return true }
        if depth == 2 && relative.hasPrefix("tools/") && name.hasPrefix(".staging-") { return true }
        if depth == 4 && relative.hasPrefix("personas/") && relative.split(separator: "/")[2] == "cache"
            && (name == "memory.db" || name.hasPrefix("memory.db-")) {
            return true
        }
        for suffix in ["-wal", "-shm", "-journal"] where name.hasSuffix(suffix) && name.count > suffix.count {
            if SQLiteBackup.isDatabaseFile(parent + "/" + String(name.dropLast(suffix.count))) { return true }
        }
        return false
    }

    /// Copies the tree into `destination` (the backup's `storage/`, existing and empty).
    /// - Returns: the entries, with paths under `storage/`, parents first, and what was skipped
    ///   that an operator should know about.
    func copy(into destination: String, logger: Logger) throws -> (entries: [BackupManifest.Entry], warnings: [String]) {
        var entries: [BackupManifest.Entry] = []
        var warnings: [String] = []
        guard FileIO.metadata(root)?.kind == .directory else { return ([], []) }
        try walk("", into: destination, entries: &entries, warnings: &warnings, logger: logger)
        return (entries, warnings)
    }

    private func walk(_ relative: String, into destination: String, entries: inout [BackupManifest.Entry],
                      warnings: inout [String], logger: Logger) throws {
        let directory = relative.isEmpty ? root : root + "/" + relative
        for name in try FileIO.children(directory) {
            let child = relative.isEmpty ? name : relative + "/" + name
            let source = directory + "/" + name
            guard !Self.isSkipped(child, name: name, parent: directory),
                  let metadata = FileIO.metadata(source) else { continue }
            guard let kind = metadata.kind else {
                warnings.append("storage/\(child) was skipped: not a file, directory or link")
                continue
            }
            var entry = BackupManifest.Entry(path: "storage/" + child, kind: kind, mode: metadata.mode, uid: metadata.uid,
                                             gid: metadata.gid, modifiedAt: metadata.modifiedAt)
            let target = destination + "/" + child
            switch kind {
            case .directory:
                try FileIO.makeDirectory(target)
                entries.append(entry)
                try walk(child, into: destination, entries: &entries, warnings: &warnings, logger: logger)
            case .symlink:
                guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: source) else { continue }
                entry.target = link
                entries.append(entry)
            case .file:
                let (size, digest) = try copyFile(source, to: target, warnings: &warnings, logger: logger)
                entry.size = size
                entry.sha256 = digest
                entries.append(entry)
            }
        }
    }

    /// An SQLite database through SQLite's backup API (consistent while its owner writes),
    /// anything else byte for byte; a database SQLite cannot copy is copied as bytes.
    private func copyFile(_ source: String, to target: String, warnings: inout [String], logger: Logger) throws -> (Int64, String) {
        if SQLiteBackup.isDatabaseFile(source) {
            do {
                try SQLiteBackup.copy(from: source, to: target)
                chmod(target, 0o600)
                return try FileIO.digest(target)
            } catch let error as SQLiteError {
                logger.warning("an SQLite file could not be copied through SQLite; copying its bytes", metadata: [
                    "path": "\(source)", "error": "\(error)",
                ])
                FileIO.removeTree(target)
                warnings.append("\(source) looks like an SQLite database SQLite could not copy (\(error.message)); its bytes were copied")
            }
        }
        return try FileIO.copy(from: source, to: target)
    }
}
