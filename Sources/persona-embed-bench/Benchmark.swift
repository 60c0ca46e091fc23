#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Embeddings
import Tokenizer

/// `embed`: times embedding the same sentences `repeat` times (after one warm-up pass).
struct Benchmark {
    struct Report: Encodable {
        var implementation = "swift"
        var threads: Int
        var sentences: Int
        var tokens: Int
        var runs: Int
        var bestSeconds: Double
        var medianSeconds: Double
        var embeddingsPerSecond: Double
        /// Process CPU time of the fastest pass: with 1 thread, unlike wall time, it does
        /// not grow when other processes take the core.
        var bestCPUSeconds: Double
        var maxAbsDiffReference: Float?
        var backend: String
    }

    struct Reference: Decodable {
        var text: String
        var embedding: [Float]
    }

    let modelDirectory: String
    let threads: Int
    let sentences: [String]
    let runs: Int
    let maxBatchTokens: Int
    let referencePath: String?
    let outputPath: String?

    init(_ arguments: inout Arguments) throws {
        modelDirectory = try arguments.string("--model-dir", default: defaultModelDirectory())
        threads = try arguments.int("--threads", default: 1)
        sentences = try readStrings(try arguments.string("--sentences"))
        runs = try arguments.int("--repeat", default: 5)
        maxBatchTokens = try arguments.int("--max-batch-tokens", default: MiniLMEmbedder.Configuration().maxBatchTokens)
        referencePath = arguments.optional("--reference")
        outputPath = arguments.optional("--output")
    }

    func run() async throws {
        let embedder = try MiniLMEmbedder(modelDirectory: modelDirectory, configuration: .init(threads: threads, maxBatchTokens: maxBatchTokens))
        var vectors = try await embedder.embed(sentences)  // warm-up: page in weights, spin up threads
        var durations: [Double] = []
        var cpuDurations: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<runs {
            let start = clock.now
            let cpuStart = processCPUSeconds()
            vectors = try await embedder.embed(sentences)
            let elapsed = clock.now - start
            cpuDurations.append(processCPUSeconds() - cpuStart)
            durations.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        durations.sort()
        let best = durations[0]
        var report = Report(
            threads: threads, sentences: sentences.count,
            tokens: sentences.reduce(0) { $0 + embedder.tokenizer.encode($1).count },
            runs: runs, bestSeconds: best, medianSeconds: durations[durations.count / 2],
            embeddingsPerSecond: Double(sentences.count) / best,
            bestCPUSeconds: cpuDurations.min() ?? 0,
            backend: MiniLMEmbedder.computeBackendDescription
        )
        if let referencePath {
            let references = try JSONDecoder().decode([Reference].self, from: Data(contentsOf: URL(fileURLWithPath: referencePath)))
            let computed = try await embedder.embed(references.map(\.text))
            report.maxAbsDiffReference = zip(computed, references).flatMap { pair in
                zip(pair.0, pair.1.embedding).map { abs($0 - $1) }
            }.max()
        }
        if let outputPath {
            try JSONEncoder().encode(vectors).write(to: URL(fileURLWithPath: outputPath))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}

func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// `tokenize`: prints ids and source scalar offsets per input text, for cross-checking
/// the tokenizer against HuggingFace (scripts/check-tokenizer).
struct TokenizeDump {
    struct Output: Encodable {
        var ids: [Int]
        var offsets: [[Int]]
    }

    let vocabularyPath: String
    let texts: [String]

    init(_ arguments: inout Arguments) throws {
        vocabularyPath = try arguments.string("--model-dir", default: defaultModelDirectory()) + "/vocab.txt"
        texts = try readStrings(try arguments.string("--input"))
    }

    func run() throws {
        let tokenizer = try WordPieceTokenizer(vocabularyPath: vocabularyPath)
        let outputs = texts.map { text in
            let tokens = tokenizer.tokenize(text)
            let scalars = text.unicodeScalars
            return Output(
                ids: tokens.map(\.id),
                offsets: tokens.map { [scalars.distance(from: text.startIndex, to: $0.range.lowerBound),
                                      scalars.distance(from: text.startIndex, to: $0.range.upperBound)] }
            )
        }
        print(String(decoding: try JSONEncoder().encode(outputs), as: UTF8.self))
    }
}
