/// One piece of a text, sized for the embedding model.
public struct TextChunk: Sendable, Hashable {
    /// Position in the chunk list, from 0.
    public var index: Int
    /// Exactly the source text between ``startOffset`` and ``endOffset``: starts and ends
    /// with a non-whitespace character.
    public var text: String
    /// Start in the source text, in UTF-16 code units (JavaScript string indices).
    public var startOffset: Int
    /// End in the source text, in UTF-16 code units, exclusive.
    public var endOffset: Int
    /// WordPiece tokens of ``text``, without `[CLS]`/`[SEP]`; at most `maxTokens`.
    public var tokenCount: Int

    /// Creates a chunk.
    public init(index: Int, text: String, startOffset: Int, endOffset: Int, tokenCount: Int) {
        self.index = index
        self.text = text
        self.startOffset = startOffset
        self.endOffset = endOffset
        self.tokenCount = tokenCount
    }
}

/// How strongly a position between two tokens separates them; chunks end at the strongest.
enum BoundaryLevel: UInt8, Comparable, CaseIterable {
    /// Between two pieces of one word (`play|##ing`): re-tokenizing either side changes it.
    case insideWord
    /// Between tokens of one whitespace-free run, e.g. a word and its punctuation.
    case token
    /// Whitespace, or next to a CJK ideograph (its own word).
    case word
    /// A single line break.
    case line
    /// After `.`, `!`, `?`, `。`… (and closing quotes) followed by whitespace; CJK terminators
    /// need none.
    case sentence
    /// A blank line, a page break or U+2029.
    case paragraph

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
