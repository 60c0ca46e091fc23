#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A WordPiece vocabulary: token string <-> id, as read from a BERT `vocab.txt`.
///
/// Entries are keyed by their UTF-8 bytes, not by `String`: Swift's `String` equality is
/// canonical equivalence, while HuggingFace compares code points exactly.
struct Vocabulary: Sendable {
    /// A vocabulary key: the exact UTF-8 bytes of an entry.
    struct Key: Hashable, Sendable {
        var bytes: [UInt8]
    }

    let tokens: [String]
    let ids: [Key: Int]
    /// The longest token in scalars (ignoring a leading "##"): no longer piece can match.
    let longestPiece: Int

    init(tokens: [String]) {
        var ids = [Key: Int](minimumCapacity: tokens.count)
        var longest = 0
        for (index, token) in tokens.enumerated() {
            // Like HuggingFace's load_vocab: a repeated token keeps its last index.
            ids[Key(bytes: Array(token.utf8))] = index
            let count = token.unicodeScalars.count - (token.hasPrefix("##") ? 2 : 0)
            longest = max(longest, count)
        }
        self.tokens = tokens
        self.ids = ids
        self.longestPiece = longest
    }

    /// Reads `vocab.txt`: one token per line, the line number (from 0) is the id.
    init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EmbeddingsError(.modelNotFound, "cannot read vocabulary at \(path)", underlying: error)
        }
        // Split bytes, not Characters: "\r\n" is one Character in Swift.
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            // Python's universal newlines turn "\r\n" into "\n" before rstrip("\n").
            let bytes = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
            return String(decoding: bytes, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else {
            throw EmbeddingsError(.invalidModel, "vocabulary at \(path) is empty")
        }
        self.init(tokens: lines)
    }

    func id(of token: String) -> Int? { ids[Key(bytes: Array(token.utf8))] }

    func id(of key: Key) -> Int? { ids[key] }
}
