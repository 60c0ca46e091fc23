import Foundation
import PersonaKit
import Testing
@testable import Supervisor

/// A memory cache in a fresh directory, synced from a ``FakeControlPlane`` on a unix socket.
final class MemoryFixture: Sendable {
    static let token = "memory-token"
    let root: String
    let controlPlane: FakeControlPlane
    let cache: MemoryCache
    let service: MemoryService

    var log: FakeMemoryLog { controlPlane.memory }
    var databasePath: String { root + "/memory.db" }

    init(pageSize: Int = 500) async throws {
        root = try Fixtures.temporaryDirectory("mem")
        controlPlane = FakeControlPlane(socketPath: root + "/cp.sock")
        try await controlPlane.start()
        cache = try MemoryCache(path: root + "/memory.db")
        service = MemoryService(cache: cache, channel: ControlPlaneChannel(endpoint: .unixSocket(root + "/cp.sock"), token: Self.token),
                                logger: Fixtures.logger, pageSize: pageSize,
                                // Generous: the whole suite runs in parallel on two cores.
                                searchSyncTimeout: .seconds(60), searchEmbedTimeout: .seconds(60))
    }

    func close() {
        controlPlane.stop()
        cache.close()
        Fixtures.remove(root)
    }
}

@Suite("Memory cache: sync from the control plane, vector and full-text search, memory_search")
struct MemoryCacheTests {
    @Test("sync pages through the change log while hasMore, with the container token, and resumes from the stored cursor")
    func incrementalSync() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        for index in 1...7 { fx.log.put("c\(index)", "chunk number \(index)", vector: [Float(index), 1, 0, 0]) }
        fx.log.setPageLimit(3)
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(fx.log.changeRequests == 3)
        #expect(try fx.cache.meta().version == 7)
        #expect(try fx.cache.counts() == (chunks: 7, vectors: 7))
        let requests = fx.controlPlane.requests.filter { $0.path == SupervisorRoutes.memoryChanges }
        #expect(requests.count == 3)
        #expect(requests.allSatisfy { $0.authorization == "Bearer \(MemoryFixture.token)" && $0.traceparent != nil })

        // A page fetched from an older cursor (an overlapping sync lost the race) is not applied.
        let stale = try fx.cache.apply(MemoryChangesResponse(
            changes: [MemoryChangeEntry(version: 1, chunkId: "c1", deleted: false, text: "overwritten", model: "test-model")],
            nextVersion: 1, hasMore: false, model: "test-model", dimension: 4), after: 0)
        #expect(!stale.applied)
        #expect(stale.version == 7)
        #expect(try fx.cache.meta().version == 7)
        #expect(try fx.cache.fullTextSearch("overwritten", limit: 5).isEmpty)

        // Nothing new: one request, nothing applied.
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(fx.log.changeRequests == 4)

        // A reopened cache continues after version 7 instead of starting over.
        fx.log.put("c8", "chunk number 8", vector: [8, 1, 0, 0])
        fx.cache.close()
        let reopened = try MemoryCache(path: fx.databasePath)
        defer { reopened.close() }
        let service = MemoryService(cache: reopened, channel: ControlPlaneChannel(endpoint: .unixSocket(fx.root + "/cp.sock"), token: "t"),
                                    logger: Fixtures.logger)
        #expect(await service.sync(timeout: .seconds(60)))
        #expect(fx.log.changeRequests == 5)
        #expect(try reopened.meta().version == 8)
        #expect(try reopened.counts() == (chunks: 8, vectors: 8))
        #expect(service.status().lastSyncError == nil)
        #expect(service.status().lastSyncAt != nil)
    }

    @Test("deletions and rewrites reach the rows, the full-text index and a loaded vector index")
    func deletions() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("a", "apple pie recipe", vector: [1, 0, 0, 0])
        fx.log.put("b", "banana bread", vector: [0, 1, 0, 0])
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(try fx.cache.fullTextSearch("apple", limit: 5).map(\.chunkId) == ["a"])
        // Loads the in-memory index, which the next sync must keep in step.
        #expect(try fx.cache.vectorSearch([1, 0, 0, 0], model: "test-model", limit: 5)?.map(\.chunkId) == ["a", "b"])

        fx.log.delete("a")
        fx.log.put("b", "cherry tart", vector: [0, 1, 0, 0])
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(try fx.cache.counts() == (chunks: 1, vectors: 1))
        #expect(try fx.cache.fullTextSearch("apple", limit: 5).isEmpty)
        #expect(try fx.cache.fullTextSearch("banana", limit: 5).isEmpty)
        #expect(try fx.cache.fullTextSearch("cherry", limit: 5).map(\.chunkId) == ["b"])
        // Limit 1: a deleted chunk left in the in-memory index would take the only slot.
        #expect(try fx.cache.vectorSearch([1, 0, 0, 0], model: "test-model", limit: 1)?.map(\.chunkId) == ["b"])
    }

    @Test("a new model drops cached vectors and query embeddings; entries of another model keep only their text")
    func modelChange() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("a", "apple pie recipe", vector: [1, 0, 0, 0])
        fx.log.put("b", "banana bread", vector: [0, 1, 0, 0])
        fx.log.put("stale", "cherry tart", vector: [0, 0, 1, 0], model: "older-model")
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(try fx.cache.counts() == (chunks: 3, vectors: 2))
        #expect(try fx.cache.fullTextSearch("cherry", limit: 5).map(\.chunkId) == ["stale"])
        try fx.cache.storeQueryVector([1, 0, 0, 0], model: "test-model", query: "apples")
        #expect(try fx.cache.vectorSearch([1, 0, 0, 0], model: "test-model", limit: 5)?.first?.chunkId == "a")

        fx.log.setModel("model-2", dimension: 3)
        #expect(await fx.service.sync(timeout: .seconds(60)))
        let meta = try fx.cache.meta()
        #expect(meta.model == "model-2")
        #expect(meta.dimension == 3)
        #expect(try fx.cache.counts() == (chunks: 3, vectors: 0))
        #expect(try fx.cache.db.execute("SELECT COUNT(vector) FROM chunks").first?.first == .integer(0))
        #expect(try fx.cache.hasVectors() == false)
        #expect(try fx.cache.cachedQueryVector(model: "test-model", query: "apples") == nil)
        #expect(try fx.cache.vectorSearch([1, 0, 0, 0], model: "test-model", limit: 5) == nil)
        #expect(try fx.cache.vectorSearch([1, 0, 0], model: "model-2", limit: 5) == nil)
        #expect(try fx.cache.fullTextSearch("apple", limit: 5).map(\.chunkId) == ["a"])

        // The control plane re-embeds: vectors of the new model come back.
        fx.log.put("a", "apple pie recipe", vector: [0, 0, 1])
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(try fx.cache.counts() == (chunks: 3, vectors: 1))
        #expect(try fx.cache.vectorSearch([0, 0, 1], model: "model-2", limit: 5)?.map(\.chunkId) == ["a"])
    }

    @Test("vector search ranks by cosine similarity and honours the limit")
    func vectorRanking() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("x", "exactly x", vector: [2, 0, 0, 0])
        fx.log.put("near-x", "almost x", vector: [0.9, 0.1, 0, 0])
        fx.log.put("y", "only y", vector: [0, 1, 0, 0])
        fx.log.put("xy", "half x half y", vector: [1, 1, 0, 0])
        fx.log.setEmbedding("find x", [1, 0, 0, 0])
        let found = try await fx.service.search("find x", limit: 3)
        #expect(found.mode == "vector")
        #expect(found.synced)
        #expect(found.version == 4)
        #expect(found.results.map(\.chunkId) == ["x", "near-x", "xy"])
        #expect(found.results.map(\.score) == [1, 0.9939, 0.7071])
        #expect(found.results.first?.documentName == "notes.md")
        #expect(found.results.first?.text == "exactly x")
    }

    @Test("a curated chunk wins a near tie but not against a clearly better uncurated match")
    func curatedBoostBounded() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("u-best", "uncurated, exact", vector: [1, 0, 0, 0])
        fx.log.put("u-near", "uncurated, 0.99", vector: [0.99, 0.141_067, 0, 0])
        fx.log.put("c-near", "curated, 0.97", vector: [0.97, 0.243_105, 0, 0], curated: true)
        fx.log.put("c-far", "curated, 0.80", vector: [0.8, 0.6, 0, 0], curated: true)
        fx.log.setEmbedding("q", [1, 0, 0, 0])
        let found = try await fx.service.search("q", limit: 4)
        #expect(found.mode == "vector")
        #expect(found.results.map(\.chunkId) == ["c-near", "u-best", "u-near", "c-far"])
        #expect(found.results.map(\.score) == [1.02, 1, 0.99, 0.85])
        #expect(found.results.map(\.curated) == [true, false, false, true])
    }

    @Test("with the control plane gone, a query embedded before still searches by vector")
    func cachedQueryEmbedding() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("x", "exactly x", vector: [1, 0, 0, 0])
        fx.log.put("y", "only y", vector: [0, 1, 0, 0])
        fx.log.setEmbedding("where is y", [0, 1, 0, 0])
        let online = try await fx.service.search("where is y", limit: 1)
        #expect(online.mode == "vector")
        #expect(online.synced)
        #expect(fx.log.embedRequests == 1)

        fx.controlPlane.stop()
        let offline = try await fx.service.search("  where is y\n", limit: 1)
        #expect(offline.mode == "vector")
        #expect(!offline.synced)
        #expect(offline.version == 2)
        #expect(offline.results.map(\.chunkId) == ["y"])
        #expect(fx.log.embedRequests == 1)
        #expect(fx.service.status().lastSyncError?.hasPrefix("connect_failed") == true)
    }

    @Test("without a query vector, or without cached vectors, the search falls back to full text")
    func fullTextFallback() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("bread", "banana bread with walnuts", vector: [1, 0, 0, 0])
        fx.log.put("pie", "apple pie recipe", vector: [0, 1, 0, 0])
        fx.log.put("plain", "bananas are yellow", vector: nil)
        #expect(await fx.service.sync(timeout: .seconds(60)))
        fx.controlPlane.stop()
        let offline = try await fx.service.search("banana bread", limit: 5)
        #expect(offline.mode == "fulltext")
        #expect(!offline.synced)
        #expect(offline.results.map(\.chunkId) == ["bread", "plain"])
        // -bm25: higher is better ("banana" is in most chunks here, so it weighs next to nothing).
        #expect(offline.results.map(\.score).first ?? 0 > 0.1)
        #expect(offline.results.map(\.score) == offline.results.map(\.score).sorted(by: >))

        // Reachable, but nothing cached has a vector: no embedding is asked for.
        let bare = try await MemoryFixture()
        defer { bare.close() }
        bare.log.put("plain", "bananas are yellow", vector: nil)
        let found = try await bare.service.search("yellow", limit: 5)
        #expect(found.mode == "fulltext")
        #expect(found.synced)
        #expect(found.results.map(\.chunkId) == ["plain"])
        #expect(bare.log.embedRequests == 0)
    }

    @Test("FTS5 syntax in a query is only text: operators, quotes, stars and NEAR( never error")
    func ftsEscaping() async throws {
        let fx = try await MemoryFixture()
        defer { fx.close() }
        fx.log.put("foo", "the foo widget", vector: nil)
        fx.log.put("bar", "a barn owl", vector: nil)
        #expect(await fx.service.sync(timeout: .seconds(60)))
        #expect(MemoryCache.ftsQuery(#""foo" OR bar*"#) == #""foo" OR "OR" OR "bar""#)
        #expect(MemoryCache.ftsQuery(#"*"(:^-"#) == nil)
        for query in [#""foo" OR bar*"#, "NEAR(", "NEAR(foo bar, 2)", "\"", "*", "foo:bar", "^foo", "(", "AND", "-foo", "text:foo", "{foo}"] {
            #expect(throws: Never.self, "\(query)") { _ = try fx.cache.fullTextSearch(query, limit: 5) }
        }
        #expect(try fx.cache.fullTextSearch(#""foo" OR bar*"#, limit: 5).map(\.chunkId) == ["foo"])
        let found = try await fx.service.search("NEAR(", limit: 5)
        #expect(found.mode == "fulltext")
        #expect(found.results.isEmpty)
        await #expect { _ = try await fx.service.search(" \n ", limit: 5) }
            throws: { ($0 as? SupervisorError)?.code == "validation_failed" }
    }

    @Test("memory_search runs through the supervisor's tool path; GET /v1/memory reports the cache")
    func toolThroughSupervisor() async throws {
        let sv = try await RunningSupervisor()
        let log = sv.controlPlane.memory
        log.put("x", "exactly x", vector: [1, 0, 0, 0], documentName: "x.md")
        log.put("y", "only y", vector: [0, 1, 0, 0], curated: true)
        log.put("z", "only z", vector: [0, 0, 1, 0])
        log.setEmbedding("find x", [1, 0.1, 0, 0])
        let result = try await sv.invoke("memory_search", InvocationRequest(arguments: ["query": "find x", "limit": 2]))
        let invalid = try await sv.request(.POST, "/v1/tools/memory_search/invocations",
                                           body: Array(#"{"arguments": {"query": "x", "limit": 50}}"#.utf8))
        let status = try await sv.request(.GET, "/v1/memory")
        log.delete("z")
        let sync = try await sv.request(.POST, "/v1/memory/sync")
        try await sv.stop()
        #expect(result.status == .succeeded, "\(result)")
        #expect(result.output["mode"] == "vector")
        #expect(result.output["synced"] == true)
        #expect(result.output["version"] == 3)
        let results = result.output["results"]?.arrayValue ?? []
        #expect(results.compactMap { $0["chunkId"]?.stringValue } == ["x", "y"])
        #expect(results.first?["documentName"] == "x.md")
        #expect(results.first?["documentId"] == "doc-1")
        #expect(results.first?["text"] == "exactly x")
        #expect(results.last?["curated"] == true)
        #expect(results.first?["score"]?.doubleValue == 0.995)
        #expect(invalid.status == 400)
        let cache = try SupervisorJSON.decoder.decode(MemoryCacheStatus.self, from: Data(status.body))
        #expect(cache.chunkCount == 3)
        #expect(cache.vectorCount == 3)
        #expect(cache.version == 3)
        #expect(cache.model == "test-model")
        #expect(sync.status == 200)
        let synced = try JSONSerialization.jsonObject(with: Data(sync.body)) as? [String: Any]
        #expect(synced?["synced"] as? Bool == true)
        #expect((synced?["status"] as? [String: Any])?["chunkCount"] as? Int == 2)
    }

    @Test("a tool context without a memory cache fails memory_search with memory_unavailable")
    func noCache() async throws {
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let result = try await runner.invoke(tool: "memory_search", request: InvocationRequest(arguments: ["query": "x"]),
                                             trace: TraceContext.newRoot())
        #expect(result.status == .failed)
        #expect(result.errorCode == "memory_unavailable")
    }
}
