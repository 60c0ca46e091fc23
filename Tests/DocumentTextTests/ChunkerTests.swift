import Testing
@testable import DocumentText
import Embeddings
import TestTraits

@Suite("TextChunker", .blocking)
struct ChunkerTests {
    /// A deterministic paragraph of `sentences` sentences of varied length.
    static func paragraph(_ seed: Int, sentences: Int) -> String {
        let words = ["memory", "persona", "retrieval", "the", "agent", "stores", "documents", "quickly",
                     "embedding", "vectors", "of", "and", "chunks", "overlap", "boundaries", "tokenizer"]
        return (0..<sentences).map { sentence in
            let length = 6 + (seed * 7 + sentence * 5) % 14
            let body = (0..<length).map { words[(seed * 31 + sentence * 17 + $0 * 13) % words.count] }.joined(separator: " ")
            return body.prefix(1).uppercased() + body.dropFirst() + (sentence % 4 == 3 ? "!" : ".")
        }.joined(separator: " ")
    }

    /// Checks the invariants every chunking must satisfy and returns the chunks.
    @discardableResult
    static func checkedChunks(_ text: String, _ chunker: TextChunker) -> [TextChunk] {
        let chunks = chunker.chunk(text)
        let utf16 = Array(text.utf16)
        var covered = [Bool](repeating: false, count: utf16.count)
        for (position, chunk) in chunks.enumerated() {
            #expect(chunk.index == position)
            #expect(!chunk.text.isEmpty)
            #expect(chunk.tokenCount == chunker.tokenizer.tokenCount(chunk.text))
            #expect(chunk.tokenCount <= chunker.configuration.maxTokens)
            #expect(String(decoding: utf16[chunk.startOffset..<chunk.endOffset], as: UTF16.self) == chunk.text)
            #expect(chunk.text.first?.isWhitespace == false && chunk.text.last?.isWhitespace == false)
            for offset in chunk.startOffset..<chunk.endOffset { covered[offset] = true }
            if position > 0 { #expect(chunk.startOffset > chunks[position - 1].startOffset) }
        }
        var offset = 0
        for scalar in text.unicodeScalars {
            if !scalar.properties.isWhitespace && !covered[offset] {
                Issue.record("U+\(String(scalar.value, radix: 16)) at UTF-16 offset \(offset) is in no chunk")
                break
            }
            offset += scalar.utf16.count
        }
        return chunks
    }

    /// The text two consecutive chunks share.
    static func overlap(_ first: TextChunk, _ second: TextChunk, in text: String) -> String {
        guard second.startOffset < first.endOffset else { return "" }
        return String(decoding: Array(text.utf16)[second.startOffset..<first.endOffset], as: UTF16.self)
    }

    @Test("chunks respect maxTokens, map back to the text exactly and cover all of it")
    func invariants() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer())
        let text = (0..<40).map { Self.paragraph($0, sentences: 3 + $0 % 9) }.joined(separator: "\n\n")
        let chunks = Self.checkedChunks(text, chunker)
        #expect(chunks.count > 10)
    }

    @Test("short paragraphs are packed and chunks end at paragraph boundaries")
    func paragraphBoundaries() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer(), configuration: .init(maxTokens: 254, overlapTokens: 0))
        let paragraphs = (0..<30).map { Self.paragraph($0, sentences: 5) }
        let text = paragraphs.joined(separator: "\n\n")
        let chunks = Self.checkedChunks(text, chunker)
        let utf16 = Array(text.utf16)
        for chunk in chunks.dropLast() {
            #expect(String(decoding: utf16[chunk.endOffset..<min(utf16.count, chunk.endOffset + 2)], as: UTF16.self) == "\n\n")
            #expect(chunk.tokenCount > 254 / 3, "paragraphs are packed, not one per chunk")
        }
        #expect(chunks.count < paragraphs.count)
    }

    @Test("a paragraph longer than maxTokens is cut after sentences")
    func sentenceBoundaries() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer(), configuration: .init(maxTokens: 64, overlapTokens: 16))
        let text = Self.paragraph(7, sentences: 60)
        let chunks = Self.checkedChunks(text, chunker)
        #expect(chunks.count > 5)
        for chunk in chunks { #expect(chunk.text.hasSuffix(".") || chunk.text.hasSuffix("!")) }
    }

    @Test("consecutive chunks overlap by whole sentences, never more than overlapTokens")
    func overlapOfSentences() throws {
        let tokenizer = try Fixtures.tokenizer()
        let chunker = try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 128, overlapTokens: 40))
        let text = Self.paragraph(3, sentences: 80)
        let chunks = Self.checkedChunks(text, chunker)
        for (first, second) in zip(chunks, chunks.dropFirst()) {
            let shared = Self.overlap(first, second, in: text)
            #expect(!shared.isEmpty)
            #expect(tokenizer.tokenCount(shared) <= 40)
            #expect(tokenizer.tokenCount(shared) >= 20)
            #expect(shared.first?.isUppercase == true, "the overlap starts with a sentence: \(shared)")
            #expect(first.text.hasSuffix(shared))
        }
    }

    @Test("without sentence ends, the overlap is made of whole words and bounded")
    func overlapOfWords() throws {
        let tokenizer = try Fixtures.tokenizer()
        let chunker = try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 32, overlapTokens: 16))
        let text = (0..<400).map { "word\($0 % 50)" }.joined(separator: " ")
        let chunks = Self.checkedChunks(text, chunker)
        let utf16 = Array(text.utf16)
        for (first, second) in zip(chunks, chunks.dropFirst()) {
            let shared = Self.overlap(first, second, in: text)
            #expect(tokenizer.tokenCount(shared) <= 16 && tokenizer.tokenCount(shared) > 0)
            #expect(second.startOffset == 0 || utf16[second.startOffset - 1] == 0x20, "starts at a word")
        }
    }

    @Test("text without spaces is cut between punctuation and words, never inside a word")
    func noSpaces() throws {
        let tokenizer = try Fixtures.tokenizer()
        let chunker = try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 40, overlapTokens: 10))
        let text = (0..<300).map { _ in "alpha" }.joined(separator: ",")
        let chunks = Self.checkedChunks(text, chunker)
        #expect(chunks.count > 5)
        for chunk in chunks {
            #expect(chunk.text.split(separator: ",").allSatisfy { $0 == "alpha" })
        }
    }

    @Test("a word longer than the tokenizer's limit is one [UNK] token and one chunk")
    func veryLongWord() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer())
        let text = String(repeating: "abcdefghij", count: 1_000)
        let chunks = Self.checkedChunks(text, chunker)
        #expect(chunks.count == 1)
        #expect(chunks.first?.tokenCount == 1)
    }

    @Test("a single run of word pieces longer than maxTokens is cut inside the word as a last resort")
    func insideWord() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer(), configuration: .init(maxTokens: 8, overlapTokens: 2))
        let word = "xq" + String(repeating: "zv", count: 40)  // many ## pieces, under the 100-character limit
        #expect(chunker.tokenizer.tokenCount(word) > 8)
        let chunks = Self.checkedChunks("Intro. " + word + " outro.", chunker)
        #expect(chunks.count > 2)
    }

    @Test("Chinese text without spaces is cut after 。 and stays within the limits")
    func cjk() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer(), configuration: .init(maxTokens: 32, overlapTokens: 8))
        let sentences = ["我们今天讨论记忆系统的设计。", "文档被切分成小块并且计算向量！", "每一块都不能超过模型的长度限制。", "检索时会找到最相关的内容？"]
        let text = (0..<20).map { sentences[$0 % sentences.count] }.joined()
        let chunks = Self.checkedChunks(text, chunker)
        #expect(chunks.count > 5)
        for chunk in chunks.dropLast() {
            #expect("。！？".contains(chunk.text.last ?? " "), "ends at a sentence: \(chunk.text)")
        }
    }

    @Test("characters the tokenizer drops are still covered, surrogate pairs are never split")
    func droppedCharactersAndEmoji() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer(), configuration: .init(maxTokens: 8, overlapTokens: 2))
        let text = "\u{0007}Start \u{FFFD} 😀 family 👨‍👩‍👧 emoji \u{00AD}soft hyphen\u{200B} and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters. End \u{0007}"
        #expect(Self.checkedChunks(text, chunker).count > 2)
    }

    @Test("empty, whitespace-only and control-only texts give no chunks; a short text gives one")
    func emptyAndShort() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer())
        #expect(chunker.chunk("").isEmpty)
        #expect(chunker.chunk(" \n\t\n  \u{3000}").isEmpty)
        #expect(chunker.chunk("\u{0001}\u{0002}").isEmpty)
        let chunks = chunker.chunk("\n\n  Hello, world!  \n")
        #expect(chunks == [TextChunk(index: 0, text: "Hello, world!", startOffset: 4, endOffset: 17, tokenCount: 4)])
    }

    @Test("invalid configurations are refused")
    func configuration() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(throws: ExtractionError.self) { try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 7, overlapTokens: 0)) }
        #expect(throws: ExtractionError.self) { try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 100, overlapTokens: 51)) }
        #expect(throws: ExtractionError.self) { try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 100, overlapTokens: -1)) }
        #expect(throws: Never.self) { try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: 100, overlapTokens: 50)) }
    }

    @Test("a megabyte of text chunks with all invariants")
    func largeText() throws {
        let chunker = try TextChunker(tokenizer: Fixtures.tokenizer())
        var text = ""
        var seed = 0
        while text.utf8.count < 1 << 20 {
            text += Self.paragraph(seed, sentences: 2 + seed % 12) + (seed % 5 == 0 ? "\n" : "\n\n")
            seed += 1
        }
        let chunks = Self.checkedChunks(text, chunker)
        #expect(chunks.count > 1_000)
    }
}
