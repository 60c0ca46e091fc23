@testable import ControlPlane
import Foundation
import Logging
import PersonaCore
import PersonaKit
import SQLKit
import Testing
import TestSupport
import PersonaStorage
import Memory

extension MemoryTests {
    /// Clustered unit vectors from a seeded generator (the retrieval benchmark's).
    typealias Vectors = SeededVectors

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var sum: Float = 0
        for i in a.indices { sum += a[i] * b[i] }
        return Double(sum)
    }

    static func insert(_ services: AppComponents, persona: String, vectors: [[Float]], curated: Bool = false,
                       model: String? = nil) async throws -> [String] {
        let chunks = vectors.enumerated().map { index, vector in
            NewChunk(id: Identifier.make(), documentId: nil, index: index, text: "chunk \(index)", startOffset: nil, endOffset: nil,
                     tokenCount: 2, curated: curated, sourceChunkIds: nil, embedding: vector)
        }
        try await services.database.transaction { tx in
            try await services.memory.chunks.insert(chunks, personaId: persona, model: model ?? services.memory.embedder.modelId,
                                                    now: Date(), on: tx)
        }
        return chunks.map(\.id)
    }

    @Test("vector search agrees with exact search (recall@10), stays in step with deletes, and keeps personas apart",
          arguments: TestBackend.allCases)
    func recall(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "A"]).data?["id"]?.stringValue)
            let other = try #require(try await api.post("/api/personas", token: admin, json: ["name": "B"]).data?["id"]?.stringValue)
            var random = Vectors(state: 42)
            let centers = (0..<40).map { _ in random.unit() }
            let vectors = (0..<3000).map { random.near(centers[$0 % centers.count], spread: 0.08) }
            let ids = try await Self.insert(services, persona: persona, vectors: vectors)
            _ = try await Self.insert(services, persona: other, vectors: (0..<500).map { random.near(centers[$0 % 40], spread: 0.08) })
            let model = services.memory.embedder.modelId
            var found = 0
            for q in 0..<20 {
                let query = random.near(vectors[q * 97], spread: 0.1)
                let scores = vectors.map { Self.dot($0, query) }
                let exact = Set(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(10).map { ids[$0] })
                let hits = try await services.memory.nearest(personaId: persona, model: model, vector: query, limit: 10)
                #expect(hits.count == 10)
                #expect(hits.allSatisfy { Set(ids).contains($0.id) })  // never another persona's chunk
                found += hits.filter { exact.contains($0.id) }.count
            }
            let recall = Double(found) / 200
            #expect(recall >= 0.9, "recall@10 \(recall)")
            // Deleting chunks (as a document delete does) takes them out of the next search.
            let probe = vectors[5]
            let before = try await services.memory.nearest(personaId: persona, model: model, vector: probe, limit: 1)
            #expect(before.first?.id == ids[5])
            let document = MemoryDocument(id: Identifier.make(), personaId: persona, name: "d", contentType: nil, sizeBytes: 1,
                                          sha256: String(repeating: "0", count: 64), uploadedBy: nil, traceId: nil, now: Date())
            try await services.database.transaction { tx in
                try await services.memory.documents.insert(document, on: tx)
                try await tx.update("chunks").set("document_id", to: document.id).where("id", .equal, ids[5]).run()
                try await services.memory.chunks.deleteChunks(documentId: document.id, personaId: persona, now: Date(), on: tx)
            }
            let after = try await services.memory.nearest(personaId: persona, model: model, vector: probe, limit: 3)
            #expect(after.count == 3)
            #expect(!after.contains { $0.id == ids[5] })
            // Vectors of another model are never compared with the current one's.
            let foreign = try await Self.insert(services, persona: persona, vectors: [probe], model: "some/other-model")[0]
            let mixed = try await services.memory.nearest(personaId: persona, model: model, vector: probe, limit: 10)
            #expect(mixed.count == 10)
            #expect(!mixed.contains { $0.id == foreign })
        }
    }

    @Test("deleting a persona drops its vectors from the in-memory index", arguments: [TestBackend.sqlite])
    func forgetOnDelete(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Gone"]).data?["id"]?.stringValue)
            let kept = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Kept"]).data?["id"]?.stringValue)
            var random = Vectors(state: 7)
            let model = services.memory.embedder.modelId
            _ = try await Self.insert(services, persona: persona, vectors: (0..<50).map { _ in random.unit() })
            _ = try await Self.insert(services, persona: kept, vectors: (0..<20).map { _ in random.unit() })
            for id in [persona, kept] {
                #expect(try await services.memory.nearest(personaId: id, model: model, vector: random.unit(), limit: 5).count == 5)
            }
            #expect(await services.memory.index.heldVectors(personaId: persona) == 50)
            #expect(try await api.delete("/api/personas/\(persona)", token: admin).status == .noContent)
            #expect(await services.memory.index.heldVectors(personaId: persona) == 0)
            #expect(await services.memory.index.heldVectors(personaId: kept) == 20)
        }
    }

    @Test("curated chunks win near ties by a bounded boost, not against a clearly better match", arguments: TestBackend.allCases)
    func curatedBoost(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.memory.curatedBoost = 0.05 }) { api, services in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "A"]).data?["id"]?.stringValue)
            var random = Vectors(state: 7)
            let query = random.unit()
            // Similarities ~0.99 (uncurated), ~0.97 (curated: within the boost), ~0.5 (curated: far).
            func at(_ similarity: Float) -> [Float] {
                let other = random.unit()
                let orthogonal = random.normalize(zip(other, query).map { $0 - Float(Self.dot(other, query)) * $1 })
                return random.normalize(zip(query, orthogonal).map { similarity * $0 + (1 - similarity * similarity).squareRoot() * $1 })
            }
            let best = try await Self.insert(services, persona: persona, vectors: [at(0.99)])[0]
            let nearTie = try await Self.insert(services, persona: persona, vectors: [at(0.97)], curated: true)[0]
            let far = try await Self.insert(services, persona: persona, vectors: [at(0.5)], curated: true)[0]
            _ = try await Self.insert(services, persona: persona, vectors: (0..<50).map { _ in at(0.7) })
            let hits = try await services.memory.nearest(personaId: persona, model: services.memory.embedder.modelId, vector: query, limit: 5)
            #expect(hits.map(\.id).prefix(2) == [nearTie, best])
            #expect(abs((hits.first?.similarity ?? 0) - 0.97) < 0.01)  // the raw similarity is reported, not the boosted score
            #expect(!hits.map(\.id).contains(far))
            #expect(MemoryService.merge(curated: [("c", 0.5)], uncurated: [("u", 0.9)], boost: 0.05, limit: 2).map(\.id) == ["u", "c"])
        }
    }
}
