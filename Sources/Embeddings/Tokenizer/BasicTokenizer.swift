@_spi(_Unicode) import Swift  // String._nfd: the standard library's own canonical decomposition.

/// A scalar of normalised text with the range of the source scalar(s) it came from.
struct SourcedScalar {
    var scalar: Unicode.Scalar
    var start: String.Index
    var end: String.Index
}

/// HuggingFace `BasicTokenizer` (do_lower_case, strip_accents=None, tokenize_chinese_chars)
/// that keeps, for every output scalar, where it came from in the input.
///
/// Steps, as in `BasicTokenizer.tokenize`: drop NUL, U+FFFD and control scalars; turn
/// whitespace into separators; isolate CJK ideographs; per whitespace-separated word:
/// lower-case (with Greek final sigma), NFD, drop Mn marks; split out punctuation.
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
        for (position, item) in word.enumerated() {
            let scalar = item.scalar
            if scalar.isASCII {
                let value = scalar.value
                let lowered = (0x41...0x5A).contains(value) ? Unicode.Scalar(value + 0x20)! : scalar
                output.append(SourcedScalar(scalar: lowered, start: item.start, end: item.end))
                continue
            }
            let lowered = scalar.value == 0x03A3
                ? (isFinalSigma(word, at: position) ? "\u{03C2}" : "\u{03C3}")
                : scalar.properties.lowercaseMapping
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

    /// Python's `str.lower()` rule for U+03A3: final sigma when preceded by a cased
    /// letter and not followed by one (case-ignorable scalars skipped both ways).
    static func isFinalSigma(_ word: [SourcedScalar], at position: Int) -> Bool {
        var before = position - 1
        while before >= 0, word[before].scalar.properties.isCaseIgnorable { before -= 1 }
        guard before >= 0, word[before].scalar.properties.isCased else { return false }
        var after = position + 1
        while after < word.count, word[after].scalar.properties.isCaseIgnorable { after += 1 }
        return after == word.count || !word[after].scalar.properties.isCased
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
