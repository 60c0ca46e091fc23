@_spi(_Unicode) import Swift  // String._nfd: the standard library's own canonical decomposition.

/// A scalar of normalised text with the range of the source scalar(s) it came from.
struct SourcedScalar {
    var scalar: Unicode.Scalar
    var start: String.Index
    var end: String.Index
}

/// HuggingFace's BERT normaliser and pre-tokenizer (`BertNormalizer` with clean_text,
/// handle_chinese_chars, lowercase, accents stripped; `BertPreTokenizer`) that keeps, for
/// every output scalar, where it came from in the input.
///
/// Steps: drop NUL, U+FFFD and control scalars; turn whitespace into separators; isolate
/// CJK ideographs; per whitespace-separated word: lower-case, NFD, drop Mn marks; split
/// out punctuation.
enum BasicTokenizer {
    /// Splits `text[range]` into basic tokens (each non-empty).
    static func tokenize(_ text: String, range: Range<String.Index>) -> [[SourcedScalar]] {
        var tokens: [[SourcedScalar]] = []
        var word: [SourcedScalar] = []
        let scalars = text.unicodeScalars
        var index = range.lowerBound
        while index < range.upperBound {
            let next = scalars.index(after: index)
            let scalar = scalars[index]
            defer { index = next }
            if BertCharacterClasses.isRemovedByCleaning(scalar) { continue }
            if BertCharacterClasses.isSplitSeparator(scalar) {
                flush(&word, into: &tokens)
            } else if BertCharacterClasses.isChinese(scalar) {
                flush(&word, into: &tokens)
                word.append(SourcedScalar(scalar: scalar, start: index, end: next))
                flush(&word, into: &tokens)
            } else {
                word.append(SourcedScalar(scalar: scalar, start: index, end: next))
            }
        }
        flush(&word, into: &tokens)
        return tokens
    }

    private static func flush(_ word: inout [SourcedScalar], into tokens: inout [[SourcedScalar]]) {
        guard !word.isEmpty else { return }
        splitOnPunctuation(normalize(word), into: &tokens)
        word.removeAll(keepingCapacity: true)
    }

    /// Lower-cases, decomposes (NFD) and strips non-spacing marks.
    static func normalize(_ word: [SourcedScalar]) -> [SourcedScalar] {
        var output: [SourcedScalar] = []
        output.reserveCapacity(word.count)
        for item in word {
            let scalar = item.scalar
            if scalar.isASCII {
                let value = scalar.value
                let lowered = (0x41...0x5A).contains(value) ? Unicode.Scalar(value + 0x20)! : scalar
                output.append(SourcedScalar(scalar: lowered, start: item.start, end: item.end))
                continue
            }
            // Per-scalar lower-casing, as the tokenizers library (Rust `char::to_lowercase`)
            // used by sentence-transformers: no final-sigma rule, unlike Python's str.lower().
            let lowered = scalar.properties.lowercaseMapping
            for decomposed in lowered._nfd {
                if decomposed.properties.generalCategory == .nonspacingMark {
                    // Keep the stripped mark inside the previous token's range so that
                    // offsets never cut a grapheme in half.
                    if let last = output.indices.last, output[last].end <= item.start {
                        output[last].end = item.end
                    }
                    continue
                }
                output.append(SourcedScalar(scalar: decomposed, start: item.start, end: item.end))
            }
        }
        return output
    }

    /// `_run_split_on_punc`: every punctuation scalar becomes a token of its own.
    private static func splitOnPunctuation(_ word: [SourcedScalar], into tokens: inout [[SourcedScalar]]) {
        var current: [SourcedScalar] = []
        for item in word {
            if BertCharacterClasses.isPunctuation(item.scalar) {
                if !current.isEmpty { tokens.append(current); current = [] }
                tokens.append([item])
            } else {
                current.append(item)
            }
        }
        if !current.isEmpty { tokens.append(current) }
    }
}
