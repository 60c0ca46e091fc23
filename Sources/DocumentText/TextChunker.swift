import Tokenizer

/// Splits text into overlapping chunks that each fit the embedding model.
///
/// The text is tokenized once; chunks are then planned on token positions. A chunk ends at
/// the strongest boundary it can reach (paragraph, then sentence, line, word; inside a word
/// only when a single run of pieces fills the whole window), preferring a full chunk: a
/// boundary in the first third of the room is used only when nothing better comes later.
/// The next chunk repeats the end of the previous one: whole sentences when they give at
/// least half of ``Configuration/overlapTokens``, else whole words, never more than
/// `overlapTokens`.
public struct TextChunker: Sendable {
    /// Chunk sizes.
    public struct Configuration: Sendable, Hashable {
        /// Most tokens per chunk, without `[CLS]`/`[SEP]` (254 fits a 256-token model).
        public var maxTokens: Int
        /// Target overlap between consecutive chunks; at most `maxTokens / 2`.
        public var overlapTokens: Int

        /// Creates a configuration.
        public init(maxTokens: Int = 254, overlapTokens: Int = 50) {
            self.maxTokens = maxTokens
            self.overlapTokens = overlapTokens
        }
    }

    /// The tokenizer that counts tokens (the embedding model's own).
    public let tokenizer: WordPieceTokenizer
    /// The sizes in effect.
    public let configuration: Configuration

    /// Creates a chunker.
    /// - Throws: ``ExtractionError`` `invalid_configuration` unless `maxTokens >= 8` and
    ///   `0 <= overlapTokens <= maxTokens / 2`.
    public init(tokenizer: WordPieceTokenizer, configuration: Configuration = Configuration()) throws {
        guard configuration.maxTokens >= 8, configuration.overlapTokens >= 0,
              configuration.overlapTokens <= configuration.maxTokens / 2
        else {
            throw ExtractionError(.invalidConfiguration, "TextChunker needs maxTokens >= 8 and 0 <= overlapTokens <= maxTokens / 2 (got \(configuration.maxTokens) and \(configuration.overlapTokens))")
        }
        self.tokenizer = tokenizer
        self.configuration = configuration
    }

    /// Chunks `text`. Whitespace-only text (or text the tokenizer drops entirely, such as
    /// control characters) gives no chunk; otherwise every non-whitespace character lies
    /// in at least one chunk.
    public func chunk(_ text: String) -> [TextChunk] {
        var text = text
        text.makeContiguousUTF8()
        let tokens = tokenizer.tokenize(text)
        guard !tokens.isEmpty else { return [] }
        let levels = Self.boundaryLevels(text, tokens: tokens)
        var chunks: [TextChunk] = []
        var chunkStart = 0
        var contentStart = 0
        while true {
            let limit = chunkStart + configuration.maxTokens
            var cut = limit >= tokens.count ? tokens.count : bestCut(levels, after: contentStart, limit: limit)
            var chunk = makeChunk(text, tokens: tokens, span: chunkStart..<cut, index: chunks.count)
            // Re-tokenizing a piece cut out of a word can give more tokens than it had here.
            if levels[chunkStart] == .insideWord || (cut < tokens.count && levels[cut] == .insideWord) {
                chunk.tokenCount = tokenizer.tokenCount(chunk.text)
                while chunk.tokenCount > configuration.maxTokens, cut - 1 > contentStart {
                    cut = max(contentStart + 1, cut - (chunk.tokenCount - configuration.maxTokens))
                    chunk = makeChunk(text, tokens: tokens, span: chunkStart..<cut, index: chunks.count)
                    chunk.tokenCount = tokenizer.tokenCount(chunk.text)
                }
            }
            chunks.append(chunk)
            if cut == tokens.count { return chunks }
            chunkStart = overlapStart(levels, previousStart: chunkStart, cut: cut)
            contentStart = cut
        }
    }

    /// The end (exclusive token position) of a chunk whose new content starts at `start`
    /// and which may end at `limit` at the latest.
    func bestCut(_ levels: [BoundaryLevel], after start: Int, limit: Int) -> Int {
        // latest[level]: the last position at or before `limit` whose boundary is at least `level`.
        var latest = [Int?](repeating: nil, count: BoundaryLevel.allCases.count)
        var position = limit
        while position > start {
            let level = Int(levels[position].rawValue)
            for stronger in 0...level where latest[stronger] == nil { latest[stronger] = position }
            if latest[Int(BoundaryLevel.paragraph.rawValue)] != nil { break }
            position -= 1
        }
        let fullEnough = start + max(1, (limit - start) / 3)
        for level in [BoundaryLevel.paragraph, .sentence, .line, .word] {
            if let cut = latest[Int(level.rawValue)], cut >= fullEnough { return cut }
        }
        return latest[Int(BoundaryLevel.word.rawValue)] ?? latest[Int(BoundaryLevel.token.rawValue)] ?? limit
    }

    /// Where the chunk after `previousStart..<cut` starts: whole sentences of the previous
    /// chunk's end when they give at least half the wanted overlap, else whole words
    /// (failing those, whole basic tokens); `cut` itself when nothing fits.
    func overlapStart(_ levels: [BoundaryLevel], previousStart: Int, cut: Int) -> Int {
        let wanted = configuration.overlapTokens
        let lowest = max(previousStart + 1, cut - wanted)
        guard wanted > 0, lowest < cut else { return cut }
        let window = lowest..<cut
        if let sentence = window.first(where: { levels[$0] >= .sentence }), cut - sentence >= (wanted + 1) / 2 {
            return sentence
        }
        if let word = window.first(where: { levels[$0] >= .word }) { return word }
        return window.first(where: { levels[$0] >= .token }) ?? cut
    }
}
