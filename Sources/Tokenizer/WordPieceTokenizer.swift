/// One WordPiece token of a text and the part of the text it stands for.
public struct WordPieceToken: Sendable, Hashable {
    /// The vocabulary id.
    public var id: Int
    /// The vocabulary entry, e.g. `"play"` or `"##ing"` (`"[UNK]"` for unknown words).
    public var piece: String
    /// Where the token comes from in the tokenized string; index the same string with it.
    /// Lower-casing and accent stripping make `text[range]` differ from `piece`.
    public var range: Range<String.Index>
}

/// The uncased BERT WordPiece tokenizer, equivalent to HuggingFace's `BertTokenizer`
/// (`do_lower_case=True`, `tokenize_chinese_chars=True`, accents stripped).
///
/// Special tokens written literally in the text (`[CLS]`, `[SEP]`, `[PAD]`, `[MASK]`,
/// `[UNK]`) are kept whole, as HuggingFace does. Thread-safe value type.
public struct WordPieceTokenizer: Sendable {
    /// The special tokens that HuggingFace matches before any normalisation.
    static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    let vocabulary: Vocabulary
    /// The id of `[CLS]`, which starts every encoded sequence.
    public let classifierId: Int
    /// The id of `[SEP]`, which ends every encoded sequence.
    public let separatorId: Int
    /// The id of `[UNK]`, used for words that cannot be split into known pieces.
    public let unknownId: Int
    /// Words longer than this (in Unicode scalars) become `[UNK]` without trying pieces.
    public let maxInputCharsPerWord: Int
    let specialIds: [String: Int]

    /// The number of entries in the vocabulary.
    public var vocabularySize: Int { vocabulary.tokens.count }

    /// Loads a BERT `vocab.txt` (one token per line, id = line number from 0).
    /// - Parameters:
    ///   - vocabularyPath: the path of `vocab.txt`.
    ///   - maxInputCharsPerWord: see ``maxInputCharsPerWord`` (HuggingFace's default is 100).
    /// - Throws: ``EmbeddingsError`` `.modelNotFound` if unreadable, `.invalidModel` if it
    ///   lacks `[CLS]`, `[SEP]` or `[UNK]`.
    public init(vocabularyPath: String, maxInputCharsPerWord: Int = 100) throws {
        try self.init(vocabulary: Vocabulary(contentsOf: vocabularyPath), maxInputCharsPerWord: maxInputCharsPerWord)
    }

    /// Builds a tokenizer from vocabulary entries in id order.
    /// - Throws: ``EmbeddingsError`` `.invalidModel` if `[CLS]`, `[SEP]` or `[UNK]` is missing.
    public init(tokens: [String], maxInputCharsPerWord: Int = 100) throws {
        try self.init(vocabulary: Vocabulary(tokens: tokens), maxInputCharsPerWord: maxInputCharsPerWord)
    }

    init(vocabulary: Vocabulary, maxInputCharsPerWord: Int) throws {
        guard let cls = vocabulary.id(of: "[CLS]"), let sep = vocabulary.id(of: "[SEP]"),
              let unk = vocabulary.id(of: "[UNK]")
        else {
            throw EmbeddingsError(.invalidModel, "vocabulary lacks one of [CLS], [SEP], [UNK]")
        }
        self.vocabulary = vocabulary
        self.classifierId = cls
        self.separatorId = sep
        self.unknownId = unk
        self.maxInputCharsPerWord = maxInputCharsPerWord
        var specialIds: [String: Int] = [:]
        for token in Self.specialTokens {
            if let id = vocabulary.id(of: token) { specialIds[token] = id }
        }
        self.specialIds = specialIds
    }

    /// Splits `text` into WordPiece tokens, without `[CLS]`/`[SEP]` and without truncation.
    public func tokenize(_ text: String) -> [WordPieceToken] {
        var output: [WordPieceToken] = []
        for segment in splitSpecialTokens(text) {
            switch segment {
            case .special(let id, let range):
                output.append(WordPieceToken(id: id, piece: vocabulary.tokens[id], range: range))
            case .text(let range):
                for word in BasicTokenizer.tokenize(text, range: range) {
                    appendPieces(of: word, to: &output)
                }
            }
        }
        return output
    }

    /// The number of WordPiece tokens in `text`, not counting `[CLS]` and `[SEP]`.
    public func tokenCount(_ text: String) -> Int { tokenize(text).count }

    /// The model input for `text`: `[CLS]`, at most `maxLength - 2` tokens, `[SEP]`.
    /// - Parameter maxLength: the longest sequence the model accepts (256 for all-MiniLM-L6-v2).
    public func encode(_ text: String, maxLength: Int = 256) -> [Int] {
        let pieces = tokenize(text).prefix(max(0, maxLength - 2))
        return [classifierId] + pieces.map(\.id) + [separatorId]
    }

    /// The id of a vocabulary entry, if present.
    public func id(of piece: String) -> Int? { vocabulary.id(of: piece) }

    /// The vocabulary entry of an id, if in range.
    public func piece(of id: Int) -> String? {
        vocabulary.tokens.indices.contains(id) ? vocabulary.tokens[id] : nil
    }
}
