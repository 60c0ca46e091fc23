import Synchronization
import Testing
import Embeddings

/// Deterministic embedder that counts the texts it was asked for.
private final class CountingEmbedder: Embedder {
    let modelId = "test-model"
    let dimension = 2
    let calls = Mutex<[[String]]>([])

    func embed(_ texts: [String]) async throws -> [[Float]] {
        calls.withLock { $0.append(texts) }
        return texts.map { [Float($0.unicodeScalars.count), Float($0.utf8.count)] }
    }
}

@Suite("Embedding cache")
struct EmbeddingCacheTests {
    @Test("a stored vector is returned for the same model and exact text only")
    func lookup() async {
        let cache = EmbeddingCache(capacity: 4)
        await cache.insert([1, 2], for: "café", modelId: "m1")
        #expect(await cache.vector(for: "café", modelId: "m1") == [1, 2])
        #expect(await cache.vector(for: "café", modelId: "m2") == nil)
        #expect(await cache.vector(for: "cafe\u{301}", modelId: "m1") == nil)
        #expect(await cache.hits == 1)
        #expect(await cache.misses == 2)
    }

    @Test("the least recently used entry is evicted when full")
    func eviction() async {
        let cache = EmbeddingCache(capacity: 2)
        await cache.insert([1], for: "a", modelId: "m")
        await cache.insert([2], for: "b", modelId: "m")
        _ = await cache.vector(for: "a", modelId: "m")  // "b" is now the oldest
        await cache.insert([3], for: "c", modelId: "m")
        #expect(await cache.count == 2)
        #expect(await cache.vector(for: "b", modelId: "m") == nil)
        #expect(await cache.vector(for: "a", modelId: "m") == [1])
        #expect(await cache.vector(for: "c", modelId: "m") == [3])
    }

    @Test("re-inserting a text replaces its vector without growing the cache")
    func replace() async {
        let cache = EmbeddingCache(capacity: 2)
        await cache.insert([1], for: "a", modelId: "m")
        await cache.insert([9], for: "a", modelId: "m")
        #expect(await cache.count == 1)
        #expect(await cache.vector(for: "a", modelId: "m") == [9])
        await cache.removeAll()
        #expect(await cache.count == 0)
    }

    @Test("the cached embedder computes each distinct missing text once, in one call")
    func cachedEmbedder() async throws {
        let base = CountingEmbedder()
        let embedder = CachedEmbedder(base, cache: EmbeddingCache(capacity: 10))
        let first = try await embedder.embed(["x", "yy", "x"])
        #expect(first == [[1, 1], [2, 2], [1, 1]])
        let second = try await embedder.embed(["yy", "zzz"])
        #expect(second == [[2, 2], [3, 3]])
        #expect(base.calls.withLock { $0 } == [["x", "yy"], ["zzz"]])
        #expect(embedder.modelId == "test-model" && embedder.dimension == 2)
    }
}
