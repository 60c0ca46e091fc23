#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
@testable import Embeddings
@testable import Tokenizer

/// Locates the model and the reference embeddings. A missing file is an error (the test
/// fails), never a skip: CI always fetches the model first.
enum Fixtures {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// One sentence of reference-embeddings.json (computed with sentence-transformers).
    struct Reference: Decodable {
        var text: String
        var input_ids: [Int]
        var embedding: [Float]
        var prenorm_meanpool_norm: Float
    }

    /// `$PERSONA_MODELS_DIR/all-MiniLM-L6-v2` (default `./models/all-MiniLM-L6-v2`).
    static func modelDirectory() throws -> String {
        let root = environment("PERSONA_MODELS_DIR") ?? "./models"
        let directory = root + "/all-MiniLM-L6-v2"
        for file in ["model.safetensors", "vocab.txt"] where !exists(directory + "/" + file) {
            throw Missing(description: "\(directory)/\(file) is missing: run scripts/fetch-models (set PERSONA_MODELS_DIR to use another models directory)")
        }
        return directory
    }

    /// `$PERSONA_MINILM_REFERENCE`, else `../shared/testdata/minilm/reference-embeddings.json`.
    static func references() throws -> [Reference] {
        let path = environment("PERSONA_MINILM_REFERENCE") ?? "../shared/testdata/minilm/reference-embeddings.json"
        guard exists(path) else {
            throw Missing(description: "reference embeddings not found at \(path): set PERSONA_MINILM_REFERENCE, and run scripts/fetch-models for the model")
        }
        let references = try JSONDecoder().decode([Reference].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        guard !references.isEmpty else { throw Missing(description: "\(path) holds no reference sentence") }
        return references
    }

    static func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabularyPath: modelDirectory() + "/vocab.txt")
    }

    static func embedder(_ configuration: MiniLMEmbedder.Configuration = .init(threads: 1)) throws -> MiniLMEmbedder {
        try MiniLMEmbedder(modelDirectory: modelDirectory(), configuration: configuration)
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "vector lengths differ: \(a.count) vs \(b.count)")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    private static func environment(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    private static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }
}
