@testable import ControlPlane
import Foundation
import Memory
import PersonaCore
import PersonaKit
import PersonaStorage
import SQLKit
import Testing
import TestSupport

/// What backup and restore refuse: damaged and incomplete backups, a used target without
/// `--force`, an old `pg_dump`, a used destination, manifests that would write outside.
extension BackupTests {
    @Test("a damaged or incomplete backup is refused before anything is written, naming the file; a second restore is refused without --force and replaces the first with it",
          arguments: TestBackend.allCases)
    func refusals(backend: TestBackend) async throws {
        let backup = Self.temporary("backup")
        defer { FileIO.removeTree(backup) }
        let report = Self.randomBytes(50_000)
        let (persona, schema) = try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Refusals"]).data?["id"]?.stringValue)
            try Self.fillPersonaFiles(services.configuration.storagePath, persona: persona, report: report).close()
            // A document whose file is gone by the time the files are copied (deleted after the
            // database copy, say): the backup goes on and names it.
            #expect(try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "gone.txt",
                                         contentType: "text/plain", bytes: Array("soon gone".utf8)).status == .created)
            let sha = DocumentStore.sha256Hex(Array("soon gone".utf8))
            FileIO.removeTree(services.configuration.storagePath + "/documents/\(sha.prefix(2))/\(sha)")
            let schema = try await Self.currentSchema(services, backend)
            let summary = try await BackupService(configuration: services.configuration, searchPath: schema, logger: TestApp.testLogger)
                .run(to: backup)
            #expect(summary.manifest.warnings.contains { $0.contains("document file \(sha)") }, "\(summary.manifest.warnings)")
            return (persona, schema)
        }
        try await Self.withFreshTarget(backend) { configuration in
            let restore = RestoreService(configuration: configuration, searchPath: schema, logger: TestApp.testLogger)
            let file = "storage/personas/\(persona)/workspace/notes/report.bin"
            var damaged = report
            damaged[25_000] ^= 0x01
            try Data(damaged).write(to: URL(fileURLWithPath: backup + "/" + file))
            let mismatch = await #expect(throws: BackupError.self) { try await restore.run(from: backup) }
            #expect(mismatch?.code == .checksumMismatch)
            #expect(mismatch?.message.contains(file) == true, "\(String(describing: mismatch))")
            try await Self.expectNothingRestored(configuration, schema: schema)

            FileIO.removeTree(backup + "/" + file)
            let missing = await #expect(throws: BackupError.self) { try await restore.run(from: backup) }
            #expect(missing?.code == .missingFile)
            #expect(missing?.message.contains(file) == true, "\(String(describing: missing))")
            try await Self.expectNothingRestored(configuration, schema: schema)

            try Data(report).write(to: URL(fileURLWithPath: backup + "/" + file))
            _ = try await restore.run(from: backup)
            try Self.checkPersonaFiles(configuration.storagePath, persona: persona, report: report)

            // Over a used database: refused, naming the database, and nothing changes.
            let extra = configuration.storagePath + "/personas/\(persona)/workspace/extra.txt"
            #expect(FileManager.default.createFile(atPath: extra, contents: Data("added after the restore".utf8)))
            let used = await #expect(throws: BackupError.self) { try await restore.run(from: backup) }
            #expect(used?.code == .targetNotEmpty)
            #expect(used?.message.contains(backend == .sqlite ? "persona.db" : "schema \(schema ?? "")") == true, "\(String(describing: used))")
            #expect(FileManager.default.fileExists(atPath: extra))

            // With --force: the database and the files are the backup's again.
            _ = try await restore.run(from: backup, force: true)
            #expect(!FileManager.default.fileExists(atPath: extra))
            try Self.checkPersonaFiles(configuration.storagePath, persona: persona, report: report)
            #expect(try FileIO.children(configuration.storagePath).filter { $0.hasPrefix(".restore-") }.isEmpty)
            try await Database.with(configuration: configuration, searchPath: schema, logger: TestApp.testLogger) { try await $0.migrate() }
            try await TestApp.run(configuration: configuration, searchPath: schema) { api, _ in
                let admin = try await api.login().access
                #expect(try await api.get("/api/personas/\(persona)", token: admin).data?["name"] == "Refusals")
            }
        }
    }

    /// After a refused restore: no file in `STORAGE_PATH`, no SQLite file, no schema or
    /// extension in the PostgreSQL database.
    static func expectNothingRestored(_ configuration: AppConfiguration, schema: String?) async throws {
        #expect(((try? FileIO.children(configuration.storagePath)) ?? []).isEmpty)
        #expect(FileIO.metadata(configuration.sqlitePath) == nil)
        guard configuration.databaseURL != nil else { return }
        let found = try await Database.with(configuration: configuration, logger: TestApp.testLogger) { database in
            try await database.withConnection { db in
                try await db.raw("""
                    SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = \(bind: schema ?? "")) + (SELECT count(*) FROM pg_extension WHERE extname = 'vector') AS n
                    """).first()?.decode(column: "n", as: Int.self)
            }
        }
        #expect(found == 0)
    }

    /// A `pg_dump` older than the test server (16), when the machine has one (Debian bookworm's
    /// `postgresql-client` is 15).
    static let olderPgDump: String? = {
        for path in ["/usr/bin/pg_dump", "/usr/lib/postgresql/15/bin/pg_dump"] where access(path, X_OK) == 0 {
            let process = Process()
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["--version"]
            process.standardOutput = output
            guard (try? process.run()) != nil else { continue }
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            if let version = PostgresTools.parseVersion(text), version.major < 16 { return path }
        }
        return nil
    }()

    @Test("a pg_dump older than the server is refused with both versions and what to do, and leaves no directory",
          .enabled(if: BackupTests.olderPgDump != nil && TestBackend.postgresURL != nil,
                   "needs Debian's pg_dump 15 (apt: postgresql-client, which scripts/test installs) and the test PostgreSQL"))
    func oldPgDump() async throws {
        let backup = Self.temporary("backup")
        try await TestApp.run(.postgres) { _, services in
            let schema = try await Self.currentSchema(services, .postgres)
            let old = try #require(Self.olderPgDump)
            let service = BackupService(configuration: services.configuration, searchPath: schema,
                                        tools: PostgresTools(pgDump: old, pgRestore: nil), logger: TestApp.testLogger)
            let error = await #expect(throws: BackupError.self) { try await service.run(to: backup) }
            #expect(error?.code == .toolTooOld)
            #expect(error?.message.contains("pg_dump at \(old) is version 15.") == true, "\(String(describing: error))")
            #expect(error?.message.contains("(PostgreSQL 16.") == true)
            #expect(error?.message.contains("PERSONA_PG_DUMP") == true)
            #expect(FileIO.metadata(backup) == nil)
            #expect(try FileIO.children((backup as NSString).deletingLastPathComponent).filter { $0.contains(".partial-") }.isEmpty)
        }
    }

    @Test("a backup refuses a destination that is a file, a directory with something in it, or inside STORAGE_PATH")
    func usedDestination() async throws {
        let directory = Self.temporary("used")
        defer { FileIO.removeTree(directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: directory + "/keep.txt", contents: Data("mine".utf8)))
        try await TestApp.run(.sqlite) { _, services in
            let service = BackupService(configuration: services.configuration, logger: TestApp.testLogger)
            let used = await #expect(throws: BackupError.self) { try await service.run(to: directory) }
            #expect(used?.code == .destinationNotEmpty)
            let file = await #expect(throws: BackupError.self) { try await service.run(to: directory + "/keep.txt") }
            #expect(file?.code == .destinationNotEmpty)
            #expect(try FileIO.children(directory) == ["keep.txt"])
            // Inside STORAGE_PATH (the next backup would copy it), through a link too.
            let storage = services.configuration.storagePath
            let inside = await #expect(throws: BackupError.self) { try await service.run(to: storage + "/backups/first") }
            #expect(inside?.code == .destinationInsideStorage)
            try FileManager.default.createSymbolicLink(atPath: directory + "/storage-link", withDestinationPath: storage)
            let linked = await #expect(throws: BackupError.self) { try await service.run(to: directory + "/storage-link/backups/first") }
            #expect(linked?.code == .destinationInsideStorage)
            #expect(FileIO.metadata(storage + "/backups") == nil)
            FileIO.removeTree(directory + "/storage-link")
            // An existing empty directory is used as it is, the manifest written last.
            try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: false)
            let summary = try await service.run(to: directory + "/empty")
            #expect(try RestoreService.verify(directory + "/empty") == summary.manifest)
        }
    }

    @Test("a manifest that would write outside the target or through a link is refused")
    func unsafeManifests() throws {
        let digest = String(repeating: "0", count: 64)
        func manifest(_ entries: [BackupManifest.Entry]) -> BackupManifest {
            BackupManifest(createdAt: Date(), backend: "sqlite", migrationVersion: 1, database: .init(path: "database/persona.db"),
                           entries: [.init(path: "database/persona.db", kind: .file, size: 0, sha256: digest, mode: 0o600, uid: 0, gid: 0)] + entries)
        }
        func file(_ path: String) -> BackupManifest.Entry { .init(path: path, kind: .file, size: 1, sha256: digest, mode: 0o644, uid: 0, gid: 0) }
        try manifest([file("storage/a.txt")]).validate()
        let unsafe: [[BackupManifest.Entry]] = [
            [file("storage/../../etc/passwd")],
            [file("/etc/passwd")],
            [file("storage//a")],
            [file("elsewhere/a")],
            [.init(path: "storage/link", kind: .symlink, target: "/etc", mode: 0o777, uid: 0, gid: 0), file("storage/link/passwd")],
            [file("storage/a"), file("storage/a")],
            [file("storage/missing-parent/a")],
        ]
        for entries in unsafe {
            #expect(throws: BackupError.self, "\(entries.map(\.path))") { try manifest(entries).validate() }
        }
        var newer = manifest([])
        newer.formatVersion = BackupManifest.currentFormatVersion + 1
        #expect(throws: BackupError.self) { try newer.validate() }
    }

    @Test("the persona-control-plane executable backs up and restores SQLite, printing a summary, and exits non-zero with the reason when refused")
    func executable() async throws {
        let binary = ServerProcessTests.binary
        let source = Self.temporary("cli-source"), target = Self.temporary("cli-target"), backup = Self.temporary("cli-backup")
        defer { for path in [source, target, backup] { FileIO.removeTree(path) } }
        func run(_ arguments: [String], storage: String) async throws -> ChildProcess.Result {
            try await ChildProcess.run(binary, arguments + ["--env-file", "/nonexistent/.env"],
                                       environment: ["PATH": "/usr/bin:/bin", "STORAGE_PATH": storage, "LOG_LEVEL": "warn"])
        }
        #expect(try await run(["migrate"], storage: source).status == 0)
        try FileManager.default.createDirectory(atPath: source + "/personas/p1/workspace", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: source + "/personas/p1/workspace/a.txt", contents: Data("from the source".utf8)))

        let backedUp = try await run(["backup", "--to", backup], storage: source)
        #expect(backedUp.status == 0, "\(backedUp.errors)")
        #expect(backedUp.output.contains("backup \(backup): sqlite database at migration \(Database.migrations.map(\.version).max() ?? 0), 3 files"), "\(backedUp.output)")
        let again = try await run(["backup", "--to", backup], storage: source)
        #expect(again.status != 0)
        #expect(again.errors.contains("destination_not_empty"), "\(again.errors)")

        let restored = try await run(["restore", "--from", backup], storage: target)
        #expect(restored.status == 0, "\(restored.errors)")
        #expect(restored.output.contains("restored \(backup): sqlite database"), "\(restored.output)")
        #expect(FileManager.default.contents(atPath: target + "/personas/p1/workspace/a.txt") == Data("from the source".utf8))
        // The development secrets are the source's (they encrypt its secrets).
        #expect(FileManager.default.contents(atPath: target + "/dev-secrets.env") == FileManager.default.contents(atPath: source + "/dev-secrets.env"))
        let refused = try await run(["restore", "--from", backup], storage: target)
        #expect(refused.status != 0)
        #expect(refused.errors.contains("target_not_empty"), "\(refused.errors)")
        #expect(try await run(["restore", "--from", backup, "--force"], storage: target).status == 0)
        #expect(try await run(["migrate"], storage: target).status == 0)
    }

    @Test("restore refuses an SQLite database a running control plane has open, even with --force")
    func databaseInUse() async throws {
        let backup = Self.temporary("in-use")
        defer { FileIO.removeTree(backup) }
        try await TestApp.run(.sqlite) { api, services in
            _ = try await api.login()
            _ = try await BackupService(configuration: services.configuration, logger: TestApp.testLogger).run(to: backup)
            let before = try FileIO.digest(services.configuration.sqlitePath)
            let error = await #expect(throws: BackupError.self) {
                try await RestoreService(configuration: services.configuration, logger: TestApp.testLogger).run(from: backup, force: true)
            }
            #expect(error?.code == .databaseInUse, "\(String(describing: error))")
            #expect(try FileIO.digest(services.configuration.sqlitePath) == before)
        }
    }

    @Test("pg_dump and pg_restore get the password in a 0600 file named by PGPASSFILE, never in their arguments")
    func passwordStaysOffTheCommandLine() async throws {
        let info = try PostgresConnectionInfo(url: "postgres://backup%20user:p%3Ass%5Cw0rd@db.example.com:5433/persona?sslmode=require")
        #expect(info.password == "p:ss\\w0rd")
        #expect(!info.connectionString.contains("w0rd"))
        #expect(info.connectionString.contains("user='backup user'"))
        #expect(info.connectionString.contains("sslmode='require'"))
        let socket = try PostgresConnectionInfo(url: "postgres://persona:secret@/persona_test?host=/run/pg&port=55432")
        #expect(socket.host == "/run/pg" && socket.port == 55432 && socket.database == "persona_test")
        let (file, mode, text) = try await info.withEnvironment { environment, _ in
            let file = try #require(environment["PGPASSFILE"])
            return (file, FileIO.metadata(file)?.mode, String(decoding: FileManager.default.contents(atPath: file) ?? Data(), as: UTF8.self))
        }
        #expect(mode == 0o600)
        #expect(text == "*:*:*:*:p\\:ss\\\\w0rd\n")
        #expect(FileIO.metadata(file) == nil, "the password file is removed afterwards")
    }
}
