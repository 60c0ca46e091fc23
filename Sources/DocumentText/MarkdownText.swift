/// Markdown to plain text: the words stay, the markup goes.
///
/// Heading marks, emphasis, blockquote marks, table rules, thematic breaks, reference
/// definitions and HTML comments and tags are dropped; links and images become their text;
/// fenced and inline code keep their contents verbatim (the fences go); paragraphs stay.
enum MarkdownText {
    static func plainText(from markdown: String) -> String {
        var output: [String] = []
        var fence: (marker: Character, length: Int)?
        var inComment = false
        for rawLine in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if let open = fence {
                if let close = fenceMarker(rawLine), close.marker == open.marker, close.length >= open.length,
                   close.rest.allSatisfy(\.isWhitespace) {
                    fence = nil
                } else {
                    output.append(String(rawLine))
                }
                continue
            }
            var line = stripComments(rawLine, inComment: &inComment)
            if line.allSatisfy(\.isWhitespace) {
                output.append("")
                continue
            }
            if let open = fenceMarker(line), open.marker == "`" || open.marker == "~" {
                fence = (open.marker, open.length)
                continue
            }
            if isRule(line) || isTableRule(line) || isReferenceDefinition(line) { continue }
            if isSetextUnderline(line), let last = output.last, !last.isEmpty { continue }
            line = stripBlockMarks(line)
            output.append(inline(line))
        }
        return TextTidy.tidy(output.joined(separator: "\n"))
    }

    /// A run of three or more backticks or tildes opening or closing a fenced block.
    private static func fenceMarker(_ line: Substring) -> (marker: Character, length: Int, rest: Substring)? {
        let body = line.drop(while: { $0 == " " })
        guard line.count - body.count <= 3, let marker = body.first, marker == "`" || marker == "~" else { return nil }
        let run = body.prefix(while: { $0 == marker })
        guard run.count >= 3 else { return nil }
        return (marker, run.count, body.dropFirst(run.count))
    }

    private static func stripComments(_ line: Substring, inComment: inout Bool) -> Substring {
        var rest = line
        var kept = ""
        while !rest.isEmpty {
            if inComment {
                guard let end = rest.firstRange(of: "-->") else { return Substring(kept) }
                rest = rest[end.upperBound...]
                inComment = false
            } else if let start = rest.firstRange(of: "<!--") {
                kept += rest[..<start.lowerBound]
                rest = rest[start.upperBound...]
                inComment = true
            } else {
                kept += rest
                break
            }
        }
        return Substring(kept)
    }

    private static func isRule(_ line: Substring) -> Bool {
        let marks = line.filter { !$0.isWhitespace }
        guard marks.count >= 3, let first = marks.first, "*-_".contains(first) else { return false }
        return marks.allSatisfy { $0 == first }
    }

    private static func isTableRule(_ line: Substring) -> Bool {
        line.contains("|") && line.contains("-") && line.allSatisfy { "|-: \t".contains($0) }
    }

    private static func isSetextUnderline(_ line: Substring) -> Bool {
        let body = line.trimmedOfWhitespace()
        return !body.isEmpty && (body.allSatisfy { $0 == "=" } || body.allSatisfy { $0 == "-" })
    }

    private static func isReferenceDefinition(_ line: Substring) -> Bool {
        let body = line.drop(while: { $0 == " " })
        guard body.first == "[", let close = body.firstRange(of: "]:") else { return false }
        return close.lowerBound > body.index(after: body.startIndex)
    }

    /// Drops heading marks, blockquote marks and table borders; `*`/`+` bullets become `-`.
    private static func stripBlockMarks(_ line: Substring) -> Substring {
        var body = line
        while true {
            let indented = body.drop(while: { $0 == " " })
            guard indented.first == ">" else { break }
            body = indented.dropFirst()
            if body.first == " " { body = body.dropFirst() }
        }
        let indent = body.prefix(while: { $0 == " " || $0 == "\t" })
        let rest = body.dropFirst(indent.count)
        let hashes = rest.prefix(while: { $0 == "#" })
        if (1...6).contains(hashes.count), rest.dropFirst(hashes.count).first?.isWhitespace ?? true {
            var heading = rest.dropFirst(hashes.count).trimmedOfWhitespace()
            let closing = heading.reversed().prefix(while: { $0 == "#" }).count
            if closing > 0, heading.dropLast(closing).last?.isWhitespace ?? true {
                heading = String(heading.dropLast(closing)).trimmedOfWhitespace()
            }
            return Substring(heading)
        }
        if let bullet = rest.first, bullet == "*" || bullet == "+", rest.dropFirst().first?.isWhitespace == true {
            return Substring(String(indent) + "-" + rest.dropFirst())
        }
        if rest.first == "|" {
            var row = rest.dropFirst().trimmedOfWhitespace()
            if row.hasSuffix("|") { row.removeLast() }
            return Substring(row)
        }
        return body
    }
}
