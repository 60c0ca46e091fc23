extension MarkdownText {
    /// Inline markup of one line: escapes, code spans, links, images, autolinks, tags and
    /// emphasis delimiters.
    static func inline<S: StringProtocol>(_ line: S) -> String {
        let chars = Array(line)
        var output = ""
        var index = 0
        while index < chars.count {
            let char = chars[index]
            switch char {
            case "\\" where index + 1 < chars.count && chars[index + 1].isPunctuationOrSymbolASCII:
                output.append(chars[index + 1])
                index += 2
            case "`":
                let run = chars[index...].prefix(while: { $0 == "`" }).count
                if let close = closingBackticks(chars, from: index + run, length: run) {
                    var code = String(chars[(index + run)..<close])
                    if code.hasPrefix(" ") && code.hasSuffix(" ") && code.count > 2 { code = String(code.dropFirst().dropLast()) }
                    output += code
                    index = close + run
                } else {
                    output += String(repeating: "`", count: run)
                    index += run
                }
            case "!" where index + 1 < chars.count && chars[index + 1] == "[":
                if let (text, end) = link(chars, at: index + 1) {
                    output += inline(text)
                    index = end
                } else {
                    output.append(char)
                    index += 1
                }
            case "[":
                if let (text, end) = link(chars, at: index) {
                    output += inline(text)
                    index = end
                } else {
                    output.append(char)
                    index += 1
                }
            case "<":
                if let end = chars[index...].firstIndex(of: ">"), let tag = tagOrAutolink(chars[(index + 1)..<end]) {
                    output += tag
                    index = end + 1
                } else {
                    output.append(char)
                    index += 1
                }
            case "*", "_", "~":
                let run = chars[index...].prefix(while: { $0 == char }).count
                let before = index > 0 ? chars[index - 1] : nil
                let after = index + run < chars.count ? chars[index + run] : nil
                if isDelimiter(char, run: run, before: before, after: after) {
                    index += run
                } else {
                    output += String(repeating: String(char), count: run)
                    index += run
                }
            default:
                output.append(char)
                index += 1
            }
        }
        return output
    }

    private static func closingBackticks(_ chars: [Character], from start: Int, length: Int) -> Int? {
        var index = start
        while index < chars.count {
            guard chars[index] == "`" else { index += 1; continue }
            let run = chars[index...].prefix(while: { $0 == "`" }).count
            if run == length { return index }
            index += run
        }
        return nil
    }

    /// `[text](destination)`, `[text][ref]` or `[text][]` starting at `open`: the text and
    /// the index after the link.
    private static func link(_ chars: [Character], at open: Int) -> (String, Int)? {
        var depth = 0
        var index = open
        var close: Int?
        while index < chars.count {
            if chars[index] == "\\" { index += 2; continue }
            if chars[index] == "[" { depth += 1 }
            if chars[index] == "]" {
                depth -= 1
                if depth == 0 { close = index; break }
            }
            index += 1
        }
        guard let close, close + 1 < chars.count else { return nil }
        let text = String(chars[(open + 1)..<close])
        let bracket: (Character, Character) = chars[close + 1] == "(" ? ("(", ")") : ("[", "]")
        guard chars[close + 1] == bracket.0 else { return nil }
        depth = 0
        index = close + 1
        while index < chars.count {
            if chars[index] == bracket.0 { depth += 1 }
            if chars[index] == bracket.1 {
                depth -= 1
                if depth == 0 { return (text, index + 1) }
            }
            index += 1
        }
        return nil
    }

    /// An autolink `<https://…>` keeps its address; an HTML tag is dropped (""); anything
    /// else is not markup (nil).
    private static func tagOrAutolink(_ body: ArraySlice<Character>) -> String? {
        let text = String(body)
        if text.contains("://") || text.hasPrefix("mailto:"), !text.contains(" ") { return text }
        guard let first = body.first else { return nil }
        if first.isLetter || (first == "/" && body.dropFirst().first?.isLetter == true) {
            return body.contains(where: { $0 == "<" || $0 == "\n" }) ? nil : ""
        }
        return nil
    }

    /// Emphasis and strike-through runs next to a word; `_` inside a word is literal.
    private static func isDelimiter(_ char: Character, run: Int, before: Character?, after: Character?) -> Bool {
        if char == "~" && run != 2 { return false }
        guard run <= 3 else { return false }
        let leftFlanking = after.map { !$0.isWhitespace } ?? false
        let rightFlanking = before.map { !$0.isWhitespace } ?? false
        guard leftFlanking || rightFlanking else { return false }
        if char == "_", before?.isLetterOrNumber == true, after?.isLetterOrNumber == true { return false }
        return true
    }
}

extension Character {
    var isPunctuationOrSymbolASCII: Bool { isASCII && (isPunctuation || isSymbol) }
    var isLetterOrNumber: Bool { isLetter || isNumber }
}
