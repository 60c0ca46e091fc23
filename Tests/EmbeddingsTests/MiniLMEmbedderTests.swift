import Testing
@testable import Embeddings
import TestTraits
@testable import Tokenizer

@Suite("MiniLM embedder", .blocking)
struct MiniLMEmbedderTests {
    @Test("embeddings match sentence-transformers within 1e-4 per dimension")
    func referenceEmbeddings() async throws {
        let embedder = try Fixtures.embedder()
        let references = try Fixtures.references()
        let vectors = try await embedder.embed(references.map(\.text))
        #expect(vectors.count == references.count)
        for (vector, reference) in zip(vectors, references) {
            #expect(vector.count == 384)
            let difference = Fixtures.maxAbsDifference(vector, reference.embedding)
            #expect(difference <= 1e-4, "\(reference.text): max abs difference \(difference)")
        }
    }

    @Test("mean-pooled vectors have the reference norm before normalisation")
    func prenormNorm() throws {
        let embedder = try Fixtures.embedder()
        let references = try Fixtures.references()
        let pooled = try embedder.meanPooled(references.map(\.text))
        for (vector, reference) in zip(pooled, references) {
            let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - reference.prenorm_meanpool_norm) <= 1e-3 * reference.prenorm_meanpool_norm,
                    "\(reference.text): norm \(norm) vs \(reference.prenorm_meanpool_norm)")
        }
    }

    @Test("a batch gives the same vectors as one text at a time, whatever the packing")
    func batchedEqualsSingle() async throws {
        let texts = try Fixtures.references().map(\.text) + ["A much longer sentence, so that the packed batch mixes lengths well."]
        let embedder = try Fixtures.embedder()
        // maxBatchTokens 16 forces several forward passes over the same list.
        let small = try Fixtures.embedder(.init(threads: 1, maxSequenceLength: 16, maxBatchTokens: 16))
        let batched = try await embedder.embed(texts)
        let smallBatches = try await small.embed(texts)
        for (index, text) in texts.enumerated() {
            let single = try await embedder.embed(text)
            #expect(Fixtures.maxAbsDifference(single, batched[index]) <= 1e-5, "\(text)")
            let alone = try await small.embed(text)
            #expect(Fixtures.maxAbsDifference(alone, smallBatches[index]) <= 1e-5, "\(text)")
        }
    }

    @Test("two threads give the same vectors as one")
    func threads() async throws {
        let texts = try Fixtures.references().map(\.text) + (0..<40).map { "Sentence number \($0) is about topic \($0 % 7)." }
        let one = try await Fixtures.embedder(.init(threads: 1)).embed(texts)
        let two = try await Fixtures.embedder(.init(threads: 2)).embed(texts)
        for (a, b) in zip(one, two) {
            #expect(Fixtures.maxAbsDifference(a, b) <= 1e-5)
        }
    }

    @Test("vectors are unit length")
    func unitLength() async throws {
        let vectors = try await Fixtures.embedder().embed(["", "x", "Some text."])
        for vector in vectors {
            let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) <= 1e-5)
        }
    }

    @Test("texts longer than 256 tokens are truncated to their first 254 word pieces")
    func truncation() async throws {
        let embedder = try Fixtures.embedder()
        let words = (0..<400).map { ["alpha", "beta", "gamma", "delta", "river", "stone"][$0 % 6] }
        let long = words.joined(separator: " ")
        let prefix = words.prefix(254).joined(separator: " ")
        #expect(embedder.tokenizer.encode(long).count == 256)
        let vectors = try await embedder.embed([long, prefix, long + " and something else entirely"])
        #expect(Fixtures.maxAbsDifference(vectors[0], vectors[1]) <= 1e-5)
        #expect(Fixtures.maxAbsDifference(vectors[0], vectors[2]) <= 1e-5)
    }

    @Test("similar sentences are closer than unrelated ones")
    func similarity() async throws {
        let vectors = try await Fixtures.embedder().embed([
            "A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today.",
        ])
        func cosine(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3)
    }

    @Test("an empty list gives no vectors")
    func emptyList() async throws {
        #expect(try await Fixtures.embedder().embed([]).isEmpty)
    }

    @Test("a missing model directory fails with model_not_found")
    func missingModel() throws {
        let error = #expect(throws: EmbeddingsError.self) {
            try MiniLMEmbedder(modelDirectory: "/nonexistent/persona-models")
        }
        #expect(error?.code == .modelNotFound)
    }

    @Test("an invalid configuration is rejected")
    func invalidConfiguration() throws {
        let directory = try Fixtures.modelDirectory()
        let error = #expect(throws: EmbeddingsError.self) {
            try MiniLMEmbedder(modelDirectory: directory, configuration: .init(maxSequenceLength: 600))
        }
        #expect(error?.code == .invalidArgument)
    }
}
