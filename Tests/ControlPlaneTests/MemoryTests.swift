@testable import ControlPlane
import Foundation
import PersonaKit
import SQLKit
import Testing
import TestSupport

@Suite("Memory")
struct MemoryTests {
    static let solar = """
        The Helios array on the north roof produces about 42 kilowatt-hours on a clear summer day. \
        Its inverters were replaced in March after a lightning strike damaged two of them.

        Maintenance visits happen every second Tuesday, and the panels are washed with deionised water.
        """
    static let bakery = """
        # Bakery notes

        Our **sourdough starter** is fed twice a day with rye flour. The bakery opens at six in the morning \
        and the first loaves come out of the oven at half past six.
        """
    static let garden = """
        <html><head><title>x</title><style>p{color:red}</style><script>var secret = 1;</script></head>
        <body><h1>Garden</h1><p>The tomato plants need watering every evening during the heat wave &amp; the basil \
        is harvested on Fridays.</p></body></html>
        """

    /// Waits until every document of the persona left pending/processing; returns them.
    static func waitForIngestion(_ api: APIClient, persona: String, token: String, count: Int) async throws -> [JSONValue] {
        for _ in 0..<600 {
            let documents = try await api.get("/api/personas/\(persona)/memory", token: token).data?.arrayValue ?? []
            if documents.count == count, documents.allSatisfy({ ["completed", "failed"].contains($0["status"]?.stringValue ?? "") }) {
                return documents
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("ingestion did not finish")
    }

    @Test("uploaded txt, md and html are extracted, chunked, embedded and found by meaning; delete removes them",
          arguments: TestBackend.allCases)
    func ingestSearchDelete(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "M"]).data?["id"]?.stringValue)
            var ids: [String: String] = [:]
            for (name, type, text) in [("solar.txt", "text/plain", Self.solar), ("bakery.md", "text/markdown", Self.bakery),
                                       ("garden.html", "text/html", Self.garden)] {
                let response = try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: name,
                                                    contentType: type, bytes: Array(text.utf8))
                #expect(response.status == .created)
                #expect(response.data?["status"] == "pending")
                #expect(response.data?["name"]?.stringValue == name)
                ids[name] = try #require(response.data?["id"]?.stringValue)
            }
            let documents = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 3)
            for document in documents {
                #expect(document["status"] == "completed", "\(document)")
                #expect((document["chunkCount"]?.intValue ?? 0) >= 1)
            }
            #expect(documents.first { $0["name"] == "garden.html" }?["format"] == "html")
            // By meaning, not by words: none of the query's content words is in the best chunk.
            let hits = try await api.get("/api/personas/\(persona)/memory/search?q=\("when does the shop bake bread".urlQueryEncoded)&limit=3",
                                         token: admin)
            #expect(hits.status == .ok)
            let top = try #require(hits.data?.arrayValue?.first)
            #expect(top["documentId"]?.stringValue == ids["bakery.md"])
            #expect(top["documentName"] == "bakery.md")
            #expect(top["curated"] == false)
            #expect((top["similarity"]?.doubleValue ?? 0) > 0.2)
            let energy = try await api.get("/api/personas/\(persona)/memory/search?q=\("solar power output".urlQueryEncoded)", token: admin)
            #expect(energy.data?.arrayValue?.first?["documentId"]?.stringValue == ids["solar.txt"])
            // The html's script and style never became memory.
            let detail = try await api.get("/api/personas/\(persona)/memory/\(ids["garden.html"]!)", token: admin)
            let chunks = try #require(detail.data?["chunks"]?.arrayValue)
            #expect(!chunks.isEmpty)
            #expect(chunks.allSatisfy { !($0["text"]?.stringValue ?? "").contains("secret") && !($0["text"]?.stringValue ?? "").contains("color") })
            #expect(chunks.contains { ($0["text"]?.stringValue ?? "").contains("tomato plants need watering") })
            // The txt's offsets point into its text.
            let solarChunks = try #require(try await api.get("/api/personas/\(persona)/memory/\(ids["solar.txt"]!)", token: admin)
                .data?["chunks"]?.arrayValue)
            for chunk in solarChunks {
                let start = try #require(chunk["startOffset"]?.intValue), end = try #require(chunk["endOffset"]?.intValue)
                let slice = String(decoding: Array(Self.solar.utf16)[start..<end], as: UTF16.self)
                #expect(slice == chunk["text"]?.stringValue)
            }
            // Delete: the chunks go, search no longer finds them, the stored file goes.
            let sha = try #require(documents.first { $0["name"] == "bakery.md" }?["sha256"]?.stringValue)
            let file = services.memory.store.path(sha256: sha)
            #expect(FileManager.default.fileExists(atPath: file))
            #expect(try await api.delete("/api/personas/\(persona)/memory/\(ids["bakery.md"]!)", token: admin).status == .noContent)
            #expect(!FileManager.default.fileExists(atPath: file))
            #expect(try await api.delete("/api/personas/\(persona)/memory/\(ids["bakery.md"]!)", token: admin).status == .notFound)
            let after = try await api.get("/api/personas/\(persona)/memory/search?q=\("when does the shop bake bread".urlQueryEncoded)&limit=10",
                                          token: admin)
            #expect(after.data?.arrayValue?.contains { $0["documentId"]?.stringValue == ids["bakery.md"] } == false)
            #expect(after.data?.arrayValue?.isEmpty == false)
            let remaining = try await services.database.withConnection {
                try await $0.select().column("document_id").from("chunks").where("persona_id", .equal, persona).all()
                    .map { try $0.decode(column: "document_id", as: String?.self) }
            }
            #expect(!remaining.contains(ids["bakery.md"]))
        }
    }

    @Test("bad uploads: not multipart 415, no file 400, too large 413 with nothing kept, roles enforced; unsupported and corrupt files fail with a reason",
          arguments: TestBackend.allCases)
    func badUploads(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.maxFileSize = 4096 }) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "M"]).data?["id"]?.stringValue)
            let path = "/api/personas/\(persona)/memory/upload"
            let json = try await api.post(path, token: admin, json: ["file": "x"])
            #expect(json.status == .unsupportedMediaType)
            #expect(json.code == "unsupported_media_type")
            let noFile = try await api.upload(path, token: admin, fileName: "a.txt", bytes: Array("hello".utf8), field: "attachment")
            #expect(noFile.status == .badRequest)
            let big = try await api.upload(path, token: admin, fileName: "big.txt", bytes: Array(repeating: UInt8(ascii: "a"), count: 5000))
            #expect(big.status == .contentTooLarge)
            #expect(big.code == "payload_too_large")
            let empty = try await api.upload(path, token: admin, fileName: "empty.txt", bytes: [])
            #expect(empty.status == .badRequest)
            let viewer = try await api.makeUser("viewer@example.com", adminToken: admin)
            #expect(try await api.post("/api/personas/\(persona)/members", token: admin,
                                       json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            #expect(try await api.upload(path, token: viewer.token, fileName: "a.txt", bytes: Array("hi".utf8)).status == .forbidden)
            #expect(try await api.get("/api/personas/\(persona)/memory", token: viewer.token).status == .ok)
            let stranger = try await api.makeUser("stranger@example.com", adminToken: admin)
            #expect(try await api.upload(path, token: stranger.token, fileName: "a.txt", bytes: Array("hi".utf8)).status == .notFound)
            // Nothing of the refused uploads was kept: no rows, no files, no partial files.
            #expect(try await api.get("/api/personas/\(persona)/memory", token: admin).data?.arrayValue?.isEmpty == true)
            let incoming = services.memory.store.root + "/incoming"
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: incoming)) ?? []).isEmpty)
            // Accepted, then failed with a reason a person can act on.
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 64)
            #expect(try await api.upload(path, token: admin, fileName: "photo.png", contentType: "image/png", bytes: png).status == .created)
            let corrupt: [UInt8] = Array("PK\u{3}\u{4}".utf8) + Array(repeating: 0x41, count: 200)
            #expect(try await api.upload(path, token: admin, fileName: "report.docx", bytes: corrupt).status == .created)
            let documents = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 2)
            for document in documents {
                #expect(document["status"] == "failed")
                let error = document["error"]?.stringValue ?? ""
                #expect(!error.isEmpty && !error.contains("internal error"), "\(document)")
                #expect(document["chunkCount"] == 0)
            }
            let searched = try await api.get("/api/personas/\(persona)/memory/search?q=x", token: admin)
            #expect(searched.status == .ok)
            #expect(searched.data?.arrayValue?.isEmpty == true)
            #expect(try await api.get("/api/personas/\(persona)/memory/search", token: admin).status == .badRequest)
            #expect(try await api.get("/api/personas/\(persona)/memory/search?q=x&limit=500", token: admin).status == .badRequest)
        }
    }
}

extension String {
    var urlQueryEncoded: String { addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? self }
}

extension MemoryTests {
    @Test("without the model, search answers 503 embedder_unavailable and an upload fails saying how to fetch it")
    func missingModel() async throws {
        try await TestApp.run(.sqlite, configure: { $0.memory.modelsDirectory = "/nonexistent-models" }) { api, _ in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "M"]).data?["id"]?.stringValue)
            let search = try await api.get("/api/personas/\(persona)/memory/search?q=hello", token: admin)
            #expect(search.status == .serviceUnavailable)
            #expect(search.code == "embedder_unavailable")
            #expect(search.json?["error"]?.stringValue?.contains("scripts/fetch-models") == true, "\(search.body)")
            #expect(try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "a.txt",
                                         bytes: Array(Self.solar.utf8)).status == .created)
            let documents = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 1)
            #expect(documents.first?["status"] == "failed")
            #expect(documents.first?["error"]?.stringValue?.contains("scripts/fetch-models") == true, "\(documents)")
        }
    }
}
