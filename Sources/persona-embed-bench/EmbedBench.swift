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

/// persona-embed-bench: measures MiniLMEmbedder throughput, or dumps tokenizer output.
///
///   persona-embed-bench embed --sentences FILE [--model-dir DIR] [--threads N]
///       [--repeat N] [--max-batch-tokens N] [--reference FILE] [--output FILE]
///   persona-embed-bench tokenize --input FILE [--model-dir DIR]
///
/// FILE inputs are JSON arrays of strings. `embed` prints one JSON object.
@main
struct EmbedBench {
    static func main() async {
        do {
            var arguments = Arguments(CommandLine.arguments.dropFirst())
            switch arguments.command {
            case "embed": try await Benchmark(&arguments).run()
            case "tokenize": try TokenizeDump(&arguments).run()
            default: throw Arguments.Failure(message: "usage: persona-embed-bench embed|tokenize [options]")
            }
        } catch {
            var message = "persona-embed-bench: \(error)\n"
            _ = message.withUTF8 { write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
    }
}

/// Minimal `--name value` parsing.
struct Arguments {
    struct Failure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    let command: String?
    private var values: [String: String] = [:]

    init(_ raw: ArraySlice<String>) {
        command = raw.first
        var rest = raw.dropFirst()
        while let name = rest.popFirst() {
            values[name] = rest.popFirst() ?? ""
        }
    }

    func string(_ name: String, default fallback: String? = nil) throws -> String {
        guard let value = values[name] ?? fallback else { throw Failure(message: "missing \(name)") }
        return value
    }

    func optional(_ name: String) -> String? { values[name] }

    func int(_ name: String, default fallback: Int) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text), value > 0 else { throw Failure(message: "\(name) needs a positive integer") }
        return value
    }
}

func readStrings(_ path: String) throws -> [String] {
    try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
}

func defaultModelDirectory() -> String {
    (ProcessInfo.processInfo.environment["PERSONA_MODELS_DIR"] ?? "./models") + "/all-MiniLM-L6-v2"
}
