/// HTML mail turned into readable plain text: tags stripped, `script`, `style`, `head` and
/// comments dropped, entities decoded, block elements (`p`, `div`, `br`, `li`, `tr`,
/// headings...) as line breaks, list items as `- `, links as `text (url)` when the URL is not
/// the text, white space folded outside `pre`. Never fails on broken markup.
package enum HTMLText {
    package static func plainText(_ html: String) -> String {
        var converter = Converter(Array(html.utf8))
        converter.run()
        return converter.finish()
    }
}

private struct Converter {
    let input: [UInt8]
    var index = 0
    var output: [UInt8] = []
    var preformatted = 0
    var pendingSpace = false
    var link: (href: String, start: Int)?

    init(_ input: [UInt8]) {
        self.input = input
        output.reserveCapacity(input.count / 2)
    }

    static let skipped: Set<String> = ["script", "style", "head", "title", "template", "noscript", "xml", "svg"]
    static let paragraphs: Set<String> = ["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl", "pre", "hr"]
    static let lines: Set<String> = ["br", "div", "li", "tr", "section", "article", "header", "footer", "nav", "aside", "main",
                                     "figure", "figcaption", "address", "center", "form", "fieldset", "dd", "dt", "caption", "body"]

    mutating func run() {
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "<") {
                tag()
            } else if byte == UInt8(ascii: "&") {
                entity()
            } else if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
                if preformatted > 0 {
                    if byte != 0x0D { output.append(byte == 0x0C ? 0x20 : byte) }
                } else {
                    pendingSpace = true
                }
                index += 1
            } else {
                emit([byte])
                index += 1
            }
        }
    }

    mutating func emit(_ bytes: [UInt8]) {
        if pendingSpace, let last = output.last, last != 0x0A, last != 0x20 { output.append(0x20) }
        pendingSpace = false
        output += bytes
    }

    /// Ends the current line; `blank` leaves an empty line after it.
    mutating func newline(blank: Bool = false) {
        pendingSpace = false
        while output.last == 0x20 { output.removeLast() }
        guard !output.isEmpty else { return }
        let wanted = blank ? 2 : 1
        var have = 0
        while have < output.count, output[output.count - 1 - have] == 0x0A { have += 1 }
        for _ in have..<max(have, wanted) { output.append(0x0A) }
    }

    mutating func tag() {
        let start = index
        if starts(with: "<!--") {
            index = find("-->").map { $0 + 3 } ?? input.count
            return
        }
        var cursor = index + 1
        let closing = cursor < input.count && input[cursor] == UInt8(ascii: "/")
        if closing { cursor += 1 }
        let nameStart = cursor
        while cursor < input.count, isNameByte(input[cursor]) { cursor += 1 }
        let nameEnd = cursor
        let name = String(decoding: input[nameStart..<nameEnd], as: UTF8.self).lowercased()
        guard !name.isEmpty || (cursor < input.count && (input[cursor] == UInt8(ascii: "!") || input[cursor] == UInt8(ascii: "?"))) else {
            // A `<` that opens no tag is text.
            emit([UInt8(ascii: "<")])
            index = start + 1
            return
        }
        // The tag's end, skipping quoted attribute values.
        var quote: UInt8?
        while cursor < input.count {
            let byte = input[cursor]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                break
            }
            cursor += 1
        }
        let attributes = input[nameEnd..<min(cursor, input.count)]
        index = min(cursor + 1, input.count)

        if !closing, Self.skipped.contains(name) {
            // Everything up to the matching end tag is not text.
            index = find("</\(name)", caseInsensitive: true).map { end in
                (input[end...].firstIndex(of: UInt8(ascii: ">")) ?? input.count - 1) + 1
            } ?? input.count
            return
        }
        switch name {
        case "pre":
            newline(blank: true)
            preformatted = max(0, preformatted + (closing ? -1 : 1))
        case "li" where !closing:
            newline()
            emit(Array("- ".utf8))
        case "td", "th":
            if !closing { pendingSpace = true }
        case "a":
            if closing, let link {
                let text = String(decoding: output[min(link.start, output.count)...], as: UTF8.self).trimmingWhitespace()
                if !link.href.isEmpty, text != link.href, "mailto:" + text != link.href, !link.href.hasPrefix("#") {
                    emit(Array(" (\(link.href))".utf8))
                }
                self.link = nil
            } else if !closing, let href = attribute("href", in: attributes) {
                if pendingSpace, let last = output.last, last != 0x0A, last != 0x20 { output.append(0x20) }
                pendingSpace = false
                link = (href, output.count)
            }
        case "img" where !closing:
            if let alt = attribute("alt", in: attributes), !alt.isEmpty { emit(Array("[\(alt)]".utf8)) }
        default:
            if Self.paragraphs.contains(name) { newline(blank: true) } else if Self.lines.contains(name) { newline() }
        }
    }

    mutating func entity() {
        var cursor = index + 1
        while cursor < input.count, cursor - index <= 32, isNameByte(input[cursor]) || input[cursor] == UInt8(ascii: "#") { cursor += 1 }
        let name = String(decoding: input[(index + 1)..<cursor], as: UTF8.self)
        var scalar: Unicode.Scalar?
        if name.hasPrefix("#x") || name.hasPrefix("#X") {
            scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
        } else if name.hasPrefix("#") {
            scalar = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init)
        } else {
            scalar = HTMLEntities.named[name].flatMap(Unicode.Scalar.init) ?? HTMLEntities.named[name.lowercased()].flatMap(Unicode.Scalar.init)
        }
        guard let scalar, scalar.value != 0 else {
            emit([UInt8(ascii: "&")])
            index += 1
            return
        }
        index = cursor < input.count && input[cursor] == UInt8(ascii: ";") ? cursor + 1 : cursor
        switch scalar.value {
        case 0xA0, 0x2002, 0x2003, 0x2009: pendingSpace = true
        case 0xAD, 0x200B, 0x200C, 0x200D, 0xFEFF: break
        default: emit(Array(String(scalar).utf8))
        }
    }

    func attribute(_ wanted: String, in attributes: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: attributes, as: UTF8.self)
        let lower = text.lowercased()
        var search = lower.startIndex
        while let range = lower[search...].firstRange(of: wanted) {
            search = range.upperBound
            let before = range.lowerBound == lower.startIndex ? " " : lower[lower.index(before: range.lowerBound)]
            guard before.isWhitespace || before == "\"" || before == "'" else { continue }
            var cursor = range.upperBound
            while cursor < lower.endIndex, lower[cursor].isWhitespace { cursor = lower.index(after: cursor) }
            guard cursor < lower.endIndex, lower[cursor] == "=" else { continue }
            cursor = lower.index(after: cursor)
            while cursor < lower.endIndex, lower[cursor].isWhitespace { cursor = lower.index(after: cursor) }
            guard cursor < lower.endIndex else { return nil }
            let value: Substring
            if lower[cursor] == "\"" || lower[cursor] == "'" {
                let quote = lower[cursor]
                let start = text.index(after: cursor)
                let end = text[start...].firstIndex(of: quote) ?? text.endIndex
                value = text[start..<end]
            } else {
                let end = text[cursor...].firstIndex(where: { $0.isWhitespace || $0 == ">" }) ?? text.endIndex
                value = text[cursor..<end]
            }
            return HTMLText.plainText(String(value)).trimmingWhitespace()
        }
        return nil
    }

    func starts(with prefix: String) -> Bool {
        let bytes = Array(prefix.utf8)
        return index + bytes.count <= input.count && Array(input[index..<(index + bytes.count)]) == bytes
    }

    /// The index of `needle` at or after `index` (ASCII letters folded when `caseInsensitive`).
    func find(_ needle: String, caseInsensitive: Bool = false) -> Int? {
        func fold(_ byte: UInt8) -> UInt8 {
            caseInsensitive && byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
        }
        let pattern = Array(needle.utf8).map(fold)
        guard !pattern.isEmpty else { return nil }
        var position = index
        while position + pattern.count <= input.count {
            guard let first = input[position...].firstIndex(where: { fold($0) == pattern[0] }) else { return nil }
            position = first
            guard position + pattern.count <= input.count else { return nil }
            if (1..<pattern.count).allSatisfy({ fold(input[position + $0]) == pattern[$0] }) { return position }
            position += 1
        }
        return nil
    }

    func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":")
    }

    mutating func finish() -> String {
        let text = String(decoding: output, as: UTF8.self)
        var lines: [Substring] = []
        var blank = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.reversed().drop { $0 == " " }.reversed()
            if trimmed.isEmpty {
                blank += 1
                if blank > 1 { continue }
            } else {
                blank = 0
            }
            lines.append(Substring(String(trimmed)))
        }
        return lines.joined(separator: "\n").trimmingWhitespace()
    }
}
