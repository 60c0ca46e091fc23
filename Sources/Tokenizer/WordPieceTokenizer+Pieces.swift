extension WordPieceTokenizer {
    enum Segment {
        case special(id: Int, range: Range<String.Index>)
        case text(Range<String.Index>)
    }

    /// Cuts literal special tokens out of `text` before normalisation, like the added-token
    /// trie of HuggingFace tokenizers (exact, case-sensitive match).
    func splitSpecialTokens(_ text: String) -> [Segment] {
        let utf8 = text.utf8
        var segments: [Segment] = []
        var textStart = utf8.startIndex
        var index = utf8.startIndex
        while index < utf8.endIndex {
            guard utf8[index] == UInt8(ascii: "["), let (id, end) = specialToken(in: utf8, at: index) else {
                index = utf8.index(after: index)
                continue
            }
            if textStart < index { segments.append(.text(textStart..<index)) }
            segments.append(.special(id: id, range: index..<end))
            index = end
            textStart = end
        }
        if textStart < utf8.endIndex { segments.append(.text(textStart..<utf8.endIndex)) }
        return segments
    }

    private func specialToken(in utf8: String.UTF8View, at start: String.Index) -> (Int, String.Index)? {
        for token in Self.specialTokens {
            guard let id = specialIds[token] else { continue }
            var position = start
            var matched = true
            for byte in token.utf8 {
                guard position < utf8.endIndex, utf8[position] == byte else { matched = false; break }
                position = utf8.index(after: position)
            }
            if matched { return (id, position) }
        }
        return nil
    }

    /// `WordpieceTokenizer.tokenize` for one basic token: greedy longest-match-first;
    /// a word with any unmatched remainder, or too long, becomes a single `[UNK]`.
    func appendPieces(of word: [SourcedScalar], to output: inout [WordPieceToken]) {
        guard let first = word.first, let last = word.last else { return }
        if word.count > maxInputCharsPerWord {
            output.append(unknown(first.start..<last.end))
            return
        }
        var pieces: [WordPieceToken] = []
        var start = 0
        while start < word.count {
            var end = min(word.count, start + vocabulary.longestPiece)
            var found: Int?
            var key = Vocabulary.Key(bytes: [])
            while start < end {
                key.bytes.removeAll(keepingCapacity: true)
                if start > 0 { key.bytes.append(contentsOf: "##".utf8) }
                for item in word[start..<end] { key.bytes.append(contentsOf: UTF8.encode(item.scalar)!) }
                if let id = vocabulary.id(of: key) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else {
                output.append(unknown(first.start..<last.end))
                return
            }
            pieces.append(WordPieceToken(id: found, piece: vocabulary.tokens[found], range: word[start].start..<word[end - 1].end))
            start = end
        }
        output.append(contentsOf: pieces)
    }

    private func unknown(_ range: Range<String.Index>) -> WordPieceToken {
        WordPieceToken(id: unknownId, piece: vocabulary.tokens[unknownId], range: range)
    }
}
