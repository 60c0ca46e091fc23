@testable import ControlPlane
import Foundation
import PersonaCore
import PersonaKit
import PersonaStorage
import SQLKit
import Synchronization
import Testing
import TestSupport

/// `backup` and `restore` on both backends, taken from a running application while requests
/// write, restored into a fresh database and `STORAGE_PATH`, and checked through the API of an
/// application started on the result.
@Suite("Backup and restore", .serialized)
struct BackupTests {
    /// What a test put into the source installation, to find again after the restore.
    struct Fixture: Sendable {
        var persona: String
        var secret = "sk-backup-\(Identifier.make())"
        var user = "archivist@example.com"
        var userPassword: String { "password-for-\(user)" }
        var report: [UInt8]
        var toolRun: [UInt8] = []
        var documentSha = ""
    }

    static let tool = "backup_echo"

    @Test("a backup taken while the server writes restores into a fresh database and STORAGE_PATH: logins, personas, secrets, documents, custom tools and workspace files come back",
          arguments: TestBackend.allCases)
    func roundTrip(backend: TestBackend) async throws {
        let backup = Self.temporary("backup")
        defer { FileIO.removeTree(backup) }
        let (fixture, schema, summary, writes) = try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            _ = try await api.makeUser("archivist@example.com", adminToken: admin)
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Archivist"]).data?["id"]?.stringValue)
            var fixture = Fixture(persona: persona, report: Self.randomBytes(300_000))
            #expect(try await api.put("/api/personas/\(persona)/secrets/OPENAI_API_KEY", token: admin,
                                      json: ["value": .string(fixture.secret)]).status == .created)
            let uploaded = try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "bakery.md",
                                                contentType: "text/markdown", bytes: Array(MemoryTests.bakery.utf8))
            #expect(uploaded.status == .created, "\(uploaded.body)")
            let documents = try await MemoryTests.waitForIngestion(api, persona: persona, token: admin, count: 1)
            #expect(documents.first?["status"] == "completed", "\(documents)")
            fixture.documentSha = try #require(documents.first?["sha256"]?.stringValue)
            let tool = try await CustomToolTests.upload(api, admin, try await CustomToolTests.package(
                name: Self.tool, version: "1.0.0", script: CustomToolTests.echo("1.0.0")))
            #expect(tool.status == .created, "\(tool.body)")
            fixture.toolRun = try #require(FileManager.default.contents(atPath: services.configuration.storagePath + "/tools/\(Self.tool)/1.0.0/bin/run")).map { $0 }
            let journal = try Self.fillPersonaFiles(services.configuration.storagePath, persona: persona, report: fixture.report)
            defer { journal.close() }
            let schema = try await Self.currentSchema(services, backend)

            // Requests keep writing while the backup runs: a persona and its secret each time.
            let writes = Writes()
            let writer = Task {
                var index = 0
                while !writes.stopped {
                    let id = try await api.post("/api/personas", token: admin, json: ["name": .string("W-\(index)")]).data?["id"]?.stringValue
                    _ = try await api.put("/api/personas/\(id ?? "none")/secrets/TOKEN", token: admin, json: ["value": .string("value-\(index)")])
                    index += 1
                    writes.completed(index)
                }
            }
            while writes.count < 3 { try await Task.sleep(for: .milliseconds(20)) }
            let before = writes.count
            let summary = try await BackupService(configuration: services.configuration, searchPath: schema, logger: TestApp.testLogger)
                .run(to: backup)
            writes.stop()
            try await writer.value
            #expect(writes.count > before, "the writer kept writing while the backup ran")
            return (fixture, schema, summary, (before, writes.count))
        }
        #expect(summary.manifest.backend == backend.rawValue)
        #expect(summary.manifest.warnings == ["storage/personas/\(fixture.persona)/workspace/pipe was skipped: not a file, directory or link"])
        let paths = Set(summary.manifest.entries.map(\.path))
        #expect(paths.contains("storage/documents/\(fixture.documentSha.prefix(2))/\(fixture.documentSha)"))
        #expect(paths.contains("storage/personas/\(fixture.persona)/cache/supervisor.db"))
        #expect(!paths.contains("storage/personas/\(fixture.persona)/cache/memory.db"))
        #expect(!paths.contains { $0.hasSuffix("-wal") || $0.hasSuffix("-shm") || $0.hasPrefix("storage/persona.db") })
        // Every file's digest in the manifest is the copy's.
        for file in summary.manifest.files {
            #expect(try FileIO.digest(backup + "/" + file.path).sha256 == file.sha256, "\(file.path)")
        }
        #expect(FileIO.metadata(backup)?.mode == 0o700)

        try await Self.withFreshTarget(backend) { configuration in
            let restored = try await RestoreService(configuration: configuration, searchPath: schema, logger: TestApp.testLogger)
                .run(from: backup)
            #expect(restored.manifest == summary.manifest)
            #expect(!restored.ownershipKept)
            try await Self.checkRestored(configuration, schema: schema, fixture: fixture, writes: writes)
        }
    }

    /// Migrations run cleanly on the restored database, then an application started on it
    /// finds everything the source had.
    static func checkRestored(_ configuration: AppConfiguration, schema: String?, fixture: Fixture, writes: (before: Int, after: Int)) async throws {
        try await Database.with(configuration: configuration, searchPath: schema, logger: TestApp.testLogger) { try await $0.migrate() }
        let storage = configuration.storagePath
        try await TestApp.run(configuration: configuration, searchPath: schema) { api, services in
            let admin = try await api.login().access
            _ = try await api.login(fixture.user, fixture.userPassword)
            let persona = try await api.get("/api/personas/\(fixture.persona)", token: admin)
            #expect(persona.data?["name"] == "Archivist", "\(persona.body)")

            // Secrets open with the same key; each one came with its audit event (one
            // transaction each, so a consistent copy has as many of one as of the other).
            let secrets = try await services.database.withConnection { db in
                try await db.raw("SELECT p.name AS persona, s.persona_id AS id, s.name AS name, s.ciphertext AS sealed FROM persona_secrets s JOIN personas p ON p.id = s.persona_id")
                    .all().map { (try $0.decode(column: "persona", as: String.self), try $0.decode(column: "id", as: String.self),
                                  try $0.decode(column: "name", as: String.self), try $0.decode(column: "sealed", as: String.self)) }
            }
            for (name, id, secret, sealed) in secrets {
                let value = try services.openSecret(sealed, personaId: id, name: secret)
                #expect(value == (name == "Archivist" ? fixture.secret : "value-" + name.dropFirst(2)), "\(name)")
            }
            let (written, audited, personas, created) = try await services.database.withConnection { db in
                func count(_ sql: String) async throws -> Int {
                    try await db.raw(SQLQueryString(sql)).first()?.decode(column: "n", as: Int.self) ?? -1
                }
                return (try await count("SELECT count(*) AS n FROM persona_secrets"),
                        try await count("SELECT count(*) AS n FROM audit_events WHERE event_type = 'secret.created'"),
                        try await count("SELECT count(*) AS n FROM personas WHERE name LIKE 'W-%'"),
                        try await count("SELECT count(*) AS n FROM audit_events WHERE event_type = 'persona.created'"))
            }
            #expect(written == audited)
            #expect(personas + 1 == created)
            #expect(personas >= writes.before && personas <= writes.after, "\(personas) of \(writes.before)...\(writes.after)")

            // The document: listed, its file in place, found by meaning.
            let documents = try await api.get("/api/personas/\(fixture.persona)/memory", token: admin).data?.arrayValue ?? []
            #expect(documents.map { $0["status"] } == ["completed"], "\(documents)")
            #expect(FileManager.default.fileExists(atPath: storage + "/documents/\(fixture.documentSha.prefix(2))/\(fixture.documentSha)"))
            let hits = try await api.get("/api/personas/\(fixture.persona)/memory/search?q=\("when does the shop bake bread".urlQueryEncoded)&limit=3",
                                         token: admin)
            #expect(hits.data?.arrayValue?.first?["documentName"] == "bakery.md", "\(hits.body)")

            // The custom tool: in the catalog, its files in place and executable.
            let tools = try await api.get("/api/tools?source=custom", token: admin)
            #expect(tools.data?.arrayValue?.map { $0["name"] } == [.string(Self.tool)], "\(tools.body)")
            let run = storage + "/tools/\(Self.tool)/1.0.0/bin/run"
            #expect(FileManager.default.contents(atPath: run).map { Array($0) } == fixture.toolRun)
            #expect(FileManager.default.isExecutableFile(atPath: run))
        }
        try Self.checkPersonaFiles(storage, persona: fixture.persona, report: fixture.report)
    }

    // MARK: Persona files

    /// A workspace as a persona's tools leave it (owned by uid 1000, a link, a FIFO) and a cache
    /// with the supervisor's journal in WAL mode whose last rows are only in its `-wal` (the
    /// connection returned keeps it so), plus a `memory.db` a backup leaves out.
    static func fillPersonaFiles(_ storage: String, persona: String, report: [UInt8]) throws -> SQLiteConnection {
        let root = storage + "/personas/\(persona)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/workspace/notes", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/cache", withIntermediateDirectories: true)
        #expect(fm.createFile(atPath: root + "/workspace/notes/report.bin", contents: Data(report)))
        #expect(fm.createFile(atPath: root + "/workspace/notes/todo.md", contents: Data("- bake bread\n".utf8)))
        try fm.createSymbolicLink(atPath: root + "/workspace/latest", withDestinationPath: "notes/report.bin")
        #expect(mkfifo(root + "/workspace/pipe", 0o644) == 0)
        for path in ["/workspace", "/workspace/notes", "/workspace/notes/report.bin", "/workspace/notes/todo.md", "/workspace/latest", "/workspace/pipe"] {
            #expect(lchown(root + path, 1000, 1000) == 0)
        }
        #expect(chmod(root + "/workspace/notes", 0o750) == 0)
        #expect(chmod(root + "/cache", 0o711) == 0)
        #expect(fm.createFile(atPath: root + "/cache/memory.db", contents: Data("SQLite format 3\0".utf8) + Data(count: 100)))
        let journal = try SQLiteConnection(path: root + "/cache/supervisor.db")
        try journal.execute("PRAGMA journal_mode = WAL")
        try journal.execute("PRAGMA wal_autocheckpoint = 0")
        try journal.execute("CREATE TABLE invocations (id INTEGER PRIMARY KEY, tool TEXT)")
        for index in 0..<50 { try journal.execute("INSERT INTO invocations (tool) VALUES (?)", [.text("tool-\(index)")]) }
        #expect((FileIO.metadata(root + "/cache/supervisor.db-wal")?.size ?? 0) > 0)
        return journal
    }

    static func checkPersonaFiles(_ storage: String, persona: String, report: [UInt8]) throws {
        let root = storage + "/personas/\(persona)"
        #expect(FileManager.default.contents(atPath: root + "/workspace/notes/report.bin").map { Array($0) } == report)
        #expect(FileManager.default.contents(atPath: root + "/workspace/notes/todo.md") == Data("- bake bread\n".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/workspace/latest") == "notes/report.bin")
        for path in ["/workspace", "/workspace/notes", "/workspace/notes/report.bin", "/workspace/latest"] {
            let metadata = FileIO.metadata(root + path)
            #expect(metadata?.uid == 1000 && metadata?.gid == 1000, "\(path)")
        }
        #expect(FileIO.metadata(root + "/workspace/notes")?.mode == 0o750)
        #expect(FileIO.metadata(root + "/cache")?.mode == 0o711)
        #expect(FileIO.metadata(root + "/workspace/pipe") == nil)
        #expect(FileIO.metadata(root + "/cache/memory.db") == nil)
        let journal = try SQLiteConnection(path: root + "/cache/supervisor.db")
        defer { journal.close() }
        #expect(try journal.execute("SELECT count(*) FROM invocations").first?.first?.integer == 50)
    }

    // MARK: Helpers

    /// Counts the writer's finished requests; tells it to stop.
    final class Writes: Sendable {
        private let state = Mutex((count: 0, stopped: false))
        var count: Int { state.withLock { $0.count } }
        var stopped: Bool { state.withLock { $0.stopped } }
        func completed(_ count: Int) { state.withLock { $0.count = count } }
        func stop() { state.withLock { $0.stopped = true } }
    }

    /// The PostgreSQL schema a test application uses (`nil` on SQLite).
    static func currentSchema(_ services: AppComponents, _ backend: TestBackend) async throws -> String? {
        guard backend == .postgres else { return nil }
        return try await services.database.withConnection { db in
            try await db.raw("SELECT current_schema() AS name").first()?.decode(column: "name", as: String.self)
        }
    }

    /// Runs `body` with the configuration of an empty installation: a new `STORAGE_PATH` and,
    /// on PostgreSQL, a new database (the restore recreates the backup's schema there, under its
    /// own name, which the configuration's search path names first).
    static func withFreshTarget(_ backend: TestBackend, _ body: @Sendable (AppConfiguration) async throws -> Void) async throws {
        let storage = temporary("restored")
        defer { FileIO.removeTree(storage) }
        let configuration = try TestApp.configuration(backend: backend, storage: storage)
        defer {
            for directory in [configuration.containers.runDirectory, configuration.containers.controlSocketDirectory] {
                FileIO.removeTree(directory)
            }
        }
        if backend == .postgres {
            try await TestApp.withFreshPostgresDatabase { [configuration] url in
                var configuration = configuration
                configuration.databaseURL = url
                try await body(configuration)
            }
        } else {
            try await body(configuration)
        }
    }

    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("persona-\(name)-\(Identifier.make())").path
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
