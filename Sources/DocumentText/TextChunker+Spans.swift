import Tokenizer

extension TextChunker {
    /// The chunk covering `tokens[span]`: from the first token's start (the text's first
    /// non-whitespace character for the first chunk) to the last token's end, extended
    /// over characters the tokenizer dropped before the next token (or, for the last
    /// chunk, to the text's last non-whitespace character), so that nothing is lost.
    func makeChunk(_ text: String, tokens: [WordPieceToken], span: Range<Int>, index: Int) -> TextChunk {
        let scalars = text.unicodeScalars
        let start = span.lowerBound == 0
            ? (scalars.firstIndex { !$0.properties.isWhitespace } ?? tokens[0].range.lowerBound)
            : tokens[span.lowerBound].range.lowerBound
        var end = tokens[span.upperBound - 1].range.upperBound
        let gapEnd = span.upperBound < tokens.count ? tokens[span.upperBound].range.lowerBound : scalars.endIndex
        var position = end
        while position < gapEnd {
            let scalar = scalars[position]
            position = scalars.index(after: position)
            if !scalar.properties.isWhitespace { end = position }
        }
        let startOffset = start.utf16Offset(in: text)
        return TextChunk(
            index: index,
            text: String(Substring(scalars[start..<end])),
            startOffset: startOffset,
            endOffset: startOffset + text.utf16.distance(from: start, to: end),
            tokenCount: span.count
        )
    }
}
