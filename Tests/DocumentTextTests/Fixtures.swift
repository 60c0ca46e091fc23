import Foundation
import Testing
import ZIPFoundation
@testable import DocumentText
import Embeddings
import Tokenizer

/// Files and the tokenizer for the tests. A missing model is an error (the test fails),
/// never a skip: CI fetches the model first.
enum Fixtures {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// `$PERSONA_MODELS_DIR/all-MiniLM-L6-v2/vocab.txt` (default `./models`).
    static func tokenizer() throws -> WordPieceTokenizer {
        let root = ProcessInfo.processInfo.environment["PERSONA_MODELS_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./models"
        let path = root + "/all-MiniLM-L6-v2/vocab.txt"
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "\(path) is missing: run scripts/fetch-models (set PERSONA_MODELS_DIR to use another models directory)")
        }
        return try WordPieceTokenizer(vocabularyPath: path)
    }

    /// A fresh directory, removed by `body`'s end.
    static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("document-text-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    /// Writes `bytes` to `name` in `directory` and extracts it.
    static func extract(_ bytes: [UInt8], name: String, contentType: String? = nil,
                        configuration: TextExtractor.Configuration = .init()) throws -> ExtractedText {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("upload.bin")
            try Data(bytes).write(to: url)
            return try TextExtractor(configuration: configuration)
                .extract(fileAt: url.path, declaredName: name, contentType: contentType)
        }
    }

    static func extract(_ text: String, name: String, contentType: String? = nil) throws -> ExtractedText {
        try extract(Array(text.utf8), name: name, contentType: contentType)
    }

    /// The error `body` throws; fails the test when it returns or throws something else.
    static func extractionError(_ body: () throws -> Any) -> ExtractionError? {
        do {
            let value = try body()
            Issue.record("expected an ExtractionError, got \(value)")
            return nil
        } catch let error as ExtractionError {
            return error
        } catch {
            Issue.record("expected an ExtractionError, got \(error)")
            return nil
        }
    }

    /// A ZIP archive built with ZIPFoundation from (path, contents) pairs, deflated.
    static func zip(_ members: [(String, [UInt8])]) throws -> [UInt8] {
        let archive = try Archive(accessMode: .create)
        for (path, contents) in members {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(contents.count),
                                 compressionMethod: .deflate) { position, size in
                Data(contents[Int(position)..<(Int(position) + size)])
            }
        }
        guard let data = archive.data else { throw Missing(description: "ZIPFoundation produced no archive") }
        return [UInt8](data)
    }

    static func zip(_ members: [(String, String)]) throws -> [UInt8] {
        try zip(members.map { ($0.0, Array($0.1.utf8)) })
    }
}
