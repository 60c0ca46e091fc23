#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import Embeddings
import TestTraits
@testable import Tokenizer

@Suite("Vocabulary", .blocking)
struct VocabularyTests {
    @Test("vocab.txt ids are line numbers, CRLF line ends included")
    func crlf() throws {
        let path = FileManager.default.temporaryDirectory.path + "/persona-vocab-\(UInt64.random(in: 0...UInt64.max)).txt"
        try Data("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokenizer = try WordPieceTokenizer(vocabularyPath: path)
        #expect(tokenizer.vocabularySize == 6)
        #expect(tokenizer.encode("Hellos") == [2, 4, 5, 3])
        #expect(tokenizer.encode("bye") == [2, 1, 3])
    }

    @Test("entries are matched by exact code points, not canonical equivalence")
    func exactMatch() throws {
        let tokenizer = try WordPieceTokenizer(tokens: ["[UNK]", "[CLS]", "[SEP]", "caf\u{E9}"])
        #expect(tokenizer.id(of: "caf\u{E9}") == 3)
        #expect(tokenizer.id(of: "cafe\u{301}") == nil)
    }

    @Test("a vocabulary without [CLS], [SEP] or [UNK] is rejected")
    func missingSpecialTokens() {
        let error = #expect(throws: EmbeddingsError.self) { try WordPieceTokenizer(tokens: ["[UNK]", "[SEP]", "a"]) }
        #expect(error?.code == .invalidModel)
    }
}
