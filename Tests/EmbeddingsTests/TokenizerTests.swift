import Testing
@testable import Embeddings
import TestTraits

@Suite("WordPiece tokenizer", .blocking)
struct TokenizerTests {
    @Test("token ids match sentence-transformers on the reference sentences")
    func referenceIds() throws {
        let tokenizer = try Fixtures.tokenizer()
        for reference in try Fixtures.references() {
            #expect(tokenizer.encode(reference.text) == reference.input_ids, "\(reference.text)")
        }
    }

    @Test("accents are stripped and text is lower-cased")
    func accents() throws {
        let tokenizer = try Fixtures.tokenizer()
        let pieces = tokenizer.tokenize("Héllo NAÏVE Café résumé").map(\.piece)
        #expect(pieces == tokenizer.tokenize("hello naive cafe resume").map(\.piece))
        // A decomposed accent (e + U+0301) tokenizes like the precomposed one.
        #expect(tokenizer.encode("cafe\u{301}") == tokenizer.encode("café"))
    }

    @Test("CJK ideographs become one token each, Hangul is decomposed into jamo")
    func cjk() throws {
        let tokenizer = try Fixtures.tokenizer()
        let pieces = tokenizer.tokenize("中文abc字").map(\.piece)
        #expect(pieces == ["中", "文", "abc", "[UNK]"])
        #expect(tokenizer.tokenize("한국").map(\.piece) == ["ᄒ", "##ᅡ", "##ᆫ", "##ᄀ", "##ᅮ", "##ᆨ"])
    }

    @Test("every punctuation character is its own token")
    func punctuation() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(tokenizer.tokenize("Hi!!(yes)—«ok»").map(\.piece) == ["hi", "!", "!", "(", "yes", ")", "—", "«", "ok", "»"])
    }

    @Test("words are split greedily into known pieces, unknown words become [UNK]")
    func wordPieces() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(tokenizer.tokenize("unaffable").map(\.piece) == ["una", "##ffa", "##ble"])
        #expect(tokenizer.tokenize("🙂").map(\.id) == [tokenizer.unknownId])
        #expect(tokenizer.tokenize(String(repeating: "a", count: 100)).allSatisfy { $0.id != tokenizer.unknownId })
        #expect(tokenizer.tokenize(String(repeating: "a", count: 101)).map(\.id) == [tokenizer.unknownId])
    }

    @Test("empty and whitespace-only text encode to [CLS] [SEP]")
    func empty() throws {
        let tokenizer = try Fixtures.tokenizer()
        let expected = [tokenizer.classifierId, tokenizer.separatorId]
        #expect(tokenizer.encode("") == expected)
        #expect(tokenizer.encode(" \t\n\u{00A0}\u{2028}\u{200B}\u{0000}") == expected)
        #expect(tokenizer.tokenCount("") == 0)
    }

    @Test("control characters are dropped and unusual spaces separate words")
    func cleanup() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(tokenizer.encode("hello\u{0007}\u{00AD}world") == tokenizer.encode("helloworld"))
        #expect(tokenizer.encode("hello\u{3000}world\u{2029}again") == tokenizer.encode("hello world again"))
    }

    @Test("literal special tokens are kept whole, case-sensitively")
    func specialTokens() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(tokenizer.tokenize("a[SEP]b").map(\.piece) == ["a", "[SEP]", "b"])
        #expect(tokenizer.tokenize("[sep]").map(\.piece) == ["[", "sep", "]"])
    }

    @Test("encode truncates to maxLength including [CLS] and [SEP]")
    func truncation() throws {
        let tokenizer = try Fixtures.tokenizer()
        let text = Array(repeating: "word", count: 300).joined(separator: " ")
        #expect(tokenizer.tokenCount(text) == 300)
        let ids = tokenizer.encode(text)
        #expect(ids.count == 256)
        #expect(ids.first == tokenizer.classifierId && ids.last == tokenizer.separatorId)
        #expect(tokenizer.encode(text, maxLength: 10).count == 10)
    }

    @Test("token ranges point at the source text, accents and case included")
    func offsets() throws {
        let tokenizer = try Fixtures.tokenizer()
        let text = "  Héllo, WORLD! unaffable e\u{301}"
        let tokens = tokenizer.tokenize(text)
        #expect(tokens.map { String(text[$0.range]) } == ["Héllo", ",", "WORLD", "!", "una", "ffa", "ble", "e\u{301}"])
    }
}
