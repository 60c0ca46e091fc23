import Tokenizer

extension TextChunker {
    /// `levels[c]` is the boundary before token `c` (entries 0 and `tokens.count` unused),
    /// from one pass over the text between consecutive tokens.
    static func boundaryLevels(_ text: String, tokens: [WordPieceToken]) -> [BoundaryLevel] {
        var levels = [BoundaryLevel](repeating: .paragraph, count: tokens.count + 1)
        let scalars = text.unicodeScalars
        guard tokens.count > 1 else { return levels }
        for cut in 1..<tokens.count {
            let previous = tokens[cut - 1].range
            let next = tokens[cut].range
            var breaks = 0
            var spaced = false
            var index = previous.upperBound
            while index < next.lowerBound {
                let scalar = scalars[index]
                index = scalars.index(after: index)
                switch scalar.value {
                case 0x0A, 0x0B, 0x85, 0x2028: breaks += 1
                case 0x0D where index == next.lowerBound || scalars[index] != "\n": breaks += 1
                case 0x0C, 0x2029: breaks += 2
                default: break
                }
                if scalar.properties.isWhitespace { spaced = true }
            }
            levels[cut] = if breaks >= 2 {
                .paragraph
            } else if endsSentence(tokens, before: cut, scalars: scalars, spaced: spaced) {
                .sentence
            } else if breaks == 1 {
                .line
            } else if spaced {
                .word
            } else if tokens[cut].piece.hasPrefix("##") {
                .insideWord
            } else if isIdeograph(scalars[previous.lowerBound]) || isIdeograph(scalars[next.lowerBound]) {
                .word
            } else {
                .token
            }
        }
        return levels
    }

    /// Token `cut - 1` (or, through up to two adjacent closing quotes or brackets, an
    /// earlier one) is a sentence terminator, followed by whitespace unless it is a CJK one.
    private static func endsSentence(_ tokens: [WordPieceToken], before cut: Int, scalars: String.UnicodeScalarView, spaced: Bool) -> Bool {
        var position = cut - 1
        var closers = 0
        while position >= 0, closers <= 2 {
            let scalar = scalars[tokens[position].range.lowerBound]
            if fullStops.contains(scalar) { return spaced || ideographicStops.contains(scalar) }
            guard closingMarks.contains(scalar), position > 0,
                  tokens[position - 1].range.upperBound == tokens[position].range.lowerBound
            else { return false }
            position -= 1
            closers += 1
        }
        return false
    }

    private static let ideographicStops: Set<Unicode.Scalar> = ["。", "！", "？", "｡", "．"]
    private static let fullStops: Set<Unicode.Scalar> = ideographicStops.union([
        ".", "!", "?", "…", "‼", "⁇", "⁈", "⁉", "؟", "۔", "।", "॥", "։", "።", "፧",
    ])
    private static let closingMarks: Set<Unicode.Scalar> = [
        "\"", "'", "”", "’", "»", ")", "]", "}", "」", "』", "】", "）", "〉", "》", "〕", "］", "｝",
    ]

    /// The CJK ideographs BERT isolates as words of their own.
    static func isIdeograph(_ scalar: Unicode.Scalar) -> Bool { BertCharacterClasses.isChinese(scalar) }
}
