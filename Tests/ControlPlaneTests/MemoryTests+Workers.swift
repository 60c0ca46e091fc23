@testable import ControlPlane
import Foundation
import Logging
import PersonaKit
import SQLKit
import Testing
import TestSupport
@testable import LLM
import PersonaStorage
import Memory

extension MemoryTests {
    /// Stores `text` as an uploaded file and a document row in the given state, as a control
    /// plane that died mid-ingestion leaves it.
    static func orphanDocument(_ services: AppComponents, persona: String, text: String, attempts: Int) async throws -> String {
        let bytes = Array(text.utf8)
        let sha = DocumentStore.sha256Hex(bytes)
        let path = services.memory.store.path(sha256: sha)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let document = MemoryDocument(id: Identifier.make(), personaId: persona, name: "orphan.txt", contentType: "text/plain",
                                      sizeBytes: bytes.count, sha256: sha, uploadedBy: nil, traceId: nil, now: Date())
        try await services.database.transaction { tx in
            try await services.memory.documents.insert(document, on: tx)
            try await tx.update("documents").set("status", to: "processing").set("lease_owner", to: "ingest-dead")
                .set("lease_expires_at", to: Date().addingTimeInterval(-5)).set("attempts", to: attempts)
                .where("id", .equal, document.id).run()
        }
        services.memory.wakeUp.signal()
        return document.id
    }

    @Test("a document whose worker died is ingested by the next one; one that keeps killing workers fails",
          arguments: TestBackend.allCases)
    func leaseRecovery(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "A"]).data?["id"]?.stringValue)
            let recovered = try await Self.orphanDocument(services, persona: persona, text: Self.solar, attempts: 1)
            let poisoned = try await Self.orphanDocument(services, persona: persona, text: Self.bakery, attempts: 3)
            let documents = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 2)
            let first = try #require(documents.first { $0["id"]?.stringValue == recovered })
            #expect(first["status"] == "completed")
            #expect(first["attempts"] == 2)
            let second = try #require(documents.first { $0["id"]?.stringValue == poisoned })
            #expect(second["status"] == "failed")
            #expect(second["error"]?.stringValue?.contains("interrupted") == true)
        }
    }

    @Test("chunks stored under another embedding model are re-embedded under the current one, and the change is logged",
          arguments: TestBackend.allCases)
    func reembedding(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "A"]).data?["id"]?.stringValue)
            let id = try await Self.insert(services, persona: persona, vectors: [[1, 0, 0]], model: "legacy/model")[0]
            let version = try await services.database.withConnection { try await services.memory.chunks.latestVersion(personaId: persona, on: $0) }
            services.memory.wakeUp.signal()
            var model = ""
            for _ in 0..<400 {
                model = try await services.database.withConnection {
                    try await $0.select().column("embedding_model").from("chunks").where("id", .equal, id).first()?
                        .decode(column: "embedding_model", as: String.self) ?? ""
                }
                if model == services.memory.embedder.modelId { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(model == services.memory.embedder.modelId)
            let changes = try await services.database.withConnection {
                try await services.memory.chunks.changes(personaId: persona, after: version, limit: 10, on: $0)
            }
            #expect(changes.map(\.chunkId) == [id])
            #expect(changes.first?.vector?.count == 384)
            // The re-embedded vector is the model's embedding of the chunk's text.
            let expected = try await services.memory.embedder.embed(["chunk 0"])[0]
            #expect(zip(expected, changes.first?.vector ?? []).allSatisfy { abs($0 - $1) < 1e-5 })
        }
    }

    @Test("the curator summarises uncurated chunks into curated ones with their sources, once", arguments: TestBackend.allCases)
    func curator(backend: TestBackend) async throws {
        let summary = "The Helios solar array yields about 42 kWh on clear summer days; its inverters were replaced in March."
        let llm = ScriptedLLM([.text(summary)])
        try await llm.serve { url in
            try await TestApp.run(backend, configure: {
                $0.litellmProxyURL = url
                $0.memory.curatorMinChunks = 2
                $0.memory.chunkTokens = 32
                $0.memory.chunkOverlapTokens = 8
            }) { api, services in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "A"]).data?["id"]?.stringValue)
                #expect(try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "solar.txt",
                                             bytes: Array(Self.solar.utf8)).status == .created)
                let documents = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 1)
                let sources = documents[0]["chunkCount"]?.intValue ?? 0
                #expect(sources >= 2)
                let curator = MemoryCurator(database: services.database, memory: services.memory,
                                            startup: services.startup, llm: LLMClient(configuration: .init(baseURL: url), http: services.http,
                                                                               logger: Logger(label: "test")),
                                            logger: Logger(label: "test"))
                let created = try await curator.curateOnce()
                #expect(!created.isEmpty)
                let prompt = await llm.requests.first?["messages"]?[1]?["content"]?.stringValue ?? ""
                #expect(prompt.contains("Helios array"))
                let rows = try await services.database.withConnection { db in
                    try await db.select().columns("id", "is_curated", "source_chunk_ids", "curated_into").from("chunks")
                        .where("persona_id", .equal, persona).all()
                }
                let curated = rows.filter { (try? $0.decode(column: "is_curated", as: Bool.self)) == true }
                #expect(curated.count == created.count)
                let sourceIds = try JSONCoding.decode([String].self, from: try curated[0].decode(column: "source_chunk_ids", as: String.self))
                #expect(sourceIds.count == sources)
                let summarised = rows.filter { (try? $0.decode(column: "curated_into", as: String?.self)) != nil }
                #expect(summarised.count == sources)
                // Search shows the curated summary, flagged; a second pass has nothing to do.
                let hits = try await api.get("/api/personas/\(persona)/memory/search?q=\("how much energy do the panels make".urlQueryEncoded)",
                                             token: admin)
                let top = try #require(hits.data?.arrayValue?.first)
                #expect(top["curated"] == true)
                #expect(top["sourceChunkIds"]?.arrayValue?.count == sources)
                #expect(try await curator.curateOnce().isEmpty)
            }
        }
    }
}

extension MemoryTests {
    @Test("EMBEDDING_PROVIDER=openai embeds through the gateway's /v1/embeddings (own dimension and index), and a failing gateway fails the document with the reason",
          arguments: TestBackend.allCases)
    func gatewayEmbeddings(backend: TestBackend) async throws {
        let llm = ScriptedLLM([])
        try await llm.serve { url in
            try await TestApp.run(backend, configure: {
                $0.litellmProxyURL = url
                $0.litellmAPIKey = "sk-gateway-test"
                $0.memory.provider = .openai
                $0.memory.remoteModel = "text-embedding-3-small"
                $0.memory.remoteDimensions = 64
            }) { api, services in
                #expect(services.memory.embedder.modelId == "openai:text-embedding-3-small@64")
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "A"]).data?["id"]?.stringValue)
                for (name, text) in [("solar.txt", Self.solar), ("bakery.md", Self.bakery)] {
                    #expect(try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: name,
                                                 bytes: Array(text.utf8)).status == .created)
                }
                let documents = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 2)
                #expect(documents.allSatisfy { $0["status"] == "completed" }, "\(documents)")
                let hits = try await api.get("/api/personas/\(persona)/memory/search?q=\("sourdough starter rye flour".urlQueryEncoded)",
                                             token: admin)
                #expect(hits.data?.arrayValue?.first?["documentName"] == "bakery.md", "\(hits.body)")
                #expect(hits.data?.arrayValue?.first?["embeddingModel"] == "openai:text-embedding-3-small@64")
                // The same text again: its chunks reuse the stored vectors, nothing is embedded.
                let before = await llm.embeddingRequests.count
                #expect(try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "solar-copy.txt",
                                             bytes: Array(Self.solar.utf8)).status == .created)
                let copies = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 3)
                #expect(copies.first { $0["name"] == "solar-copy.txt" }?["status"] == "completed")
                #expect(await llm.embeddingRequests.count == before)
                let requests = await llm.embeddingRequests
                #expect(requests.first?["model"] == "text-embedding-3-small")
                #expect(requests.first?["dimensions"] == 64)
                #expect(await llm.embeddingHeaders.first?["authorization"] == "Bearer sk-gateway-test")
                if backend == .postgres {
                    let indexes = try await services.database.withConnection {
                        try await $0.raw("SELECT indexname FROM pg_indexes WHERE tablename = 'chunks'").all()
                            .map { try $0.decode(column: "indexname", as: String.self) }
                    }
                    #expect(indexes.contains("chunks_hnsw_64"))
                    #expect(indexes.contains("chunks_hnsw_384"))
                }
                await llm.setEmbeddingStatus(400)
                #expect(try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "garden.html",
                                             bytes: Array(Self.garden.utf8)).status == .created)
                let all = try await Self.waitForIngestion(api, persona: persona, token: admin, count: 4)
                let failed = try #require(all.first { $0["name"] == "garden.html" })
                #expect(failed["status"] == "failed")
                let reason = failed["error"]?.stringValue ?? ""
                #expect(reason.contains("HTTP 400"), "\(failed)")
                #expect(!reason.contains("sk-gateway-test"))
            }
        }
    }
}
