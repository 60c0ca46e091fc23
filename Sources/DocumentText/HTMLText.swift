/// A small, tolerant HTML-to-text converter (no DOM).
///
/// `<script>`, `<style>`, `<head>`, `<noscript>`, `<template>` and `<svg>` content and
/// comments are dropped; block elements become paragraph breaks, `<br>`, `<li>` and `<tr>`
/// line breaks, table cells tabs; character references are decoded; whitespace collapses
/// to single spaces except inside `<pre>`. Works on UTF-8 bytes (tags are ASCII).
enum HTMLText {
    static func plainText(from html: String) -> String {
        let bytes = Array(html.utf8)
        var writer = HTMLTextWriter()
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                index = markup(bytes, at: index, writer: &writer)
            } else if byte == UInt8(ascii: "&") {
                let (decoded, end) = HTMLEntities.decode(bytes, at: index)
                writer.text(decoded)
                index = end
            } else {
                writer.text(byte)
                index += 1
            }
        }
        return TextTidy.tidy(String(decoding: writer.output, as: UTF8.self))
    }

    private static let skippedElements: Set<String> = ["script", "style", "head", "noscript", "template", "svg"]
    private static let paragraphElements: Set<String> = [
        "p", "div", "section", "article", "header", "footer", "nav", "aside", "main", "h1", "h2", "h3",
        "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "pre", "figure", "figcaption", "form",
        "fieldset", "address", "hr", "details", "summary", "body", "html",
    ]
    private static let lineElements: Set<String> = ["li", "tr", "dt", "dd", "option", "caption", "title"]

    /// Handles the markup starting with `<` at `start`; returns the index after it.
    private static func markup(_ bytes: [UInt8], at start: Int, writer: inout HTMLTextWriter) -> Int {
        if bytes.matches("<!--", at: start) {
            return bytes.index(after: "-->", from: start + 4) ?? bytes.count
        }
        if bytes.matches("<![CDATA[", at: start) {
            let end = bytes.firstIndex(of: "]]>", from: start + 9) ?? bytes.count
            for byte in bytes[(start + 9)..<end] { writer.text(byte) }
            return min(bytes.count, end + 3)
        }
        let next = start + 1 < bytes.count ? bytes[start + 1] : 0
        if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
            return bytes.index(after: ">", from: start) ?? bytes.count
        }
        let closing = next == UInt8(ascii: "/")
        let nameStart = start + (closing ? 2 : 1)
        var nameEnd = nameStart
        while nameEnd < bytes.count, bytes[nameEnd].isTagNameByte { nameEnd += 1 }
        guard nameEnd > nameStart, bytes[nameStart].isASCIILetter else {
            writer.text(UInt8(ascii: "<"))
            return start + 1
        }
        let name = String(decoding: bytes[nameStart..<nameEnd], as: UTF8.self).lowercased()
        let tagEnd = endOfTag(bytes, from: nameEnd)
        let selfClosing = tagEnd - 2 >= nameEnd && bytes[tagEnd - 2] == UInt8(ascii: "/")
        if !closing && !selfClosing && skippedElements.contains(name) {
            return skipElement(name, bytes, from: tagEnd)
        }
        switch name {
        case "br": writer.lineBreak()
        case "pre": writer.preDepth = max(0, writer.preDepth + (closing ? -1 : 1)); writer.breakLine(2)
        case "td", "th": if !closing { writer.cell() }
        case "tr": writer.breakLine(1); writer.cellsInRow = 0
        case _ where paragraphElements.contains(name): writer.breakLine(2)
        case _ where lineElements.contains(name): writer.breakLine(1)
        default: break
        }
        return tagEnd
    }

    /// The index after the `>` closing a tag, skipping quoted attribute values.
    private static func endOfTag(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        var quote: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                return index + 1
            }
            index += 1
        }
        return bytes.count
    }

    /// Skips to after `</name…>` (or, for `head`, to a `<body` tag); to the end if unclosed.
    private static func skipElement(_ name: String, _ bytes: [UInt8], from start: Int) -> Int {
        let close = Array("</\(name)".utf8)
        let body = Array("<body".utf8)
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "<") {
                if bytes.matchesIgnoringCase(close, at: index) {
                    return endOfTag(bytes, from: index + close.count)
                }
                if name == "head" && bytes.matchesIgnoringCase(body, at: index) { return index }
            }
            index += 1
        }
        return bytes.count
    }
}

/// Output of ``HTMLText`` with whitespace collapsing and pending line breaks.
struct HTMLTextWriter {
    var output: [UInt8] = []
    var preDepth = 0
    var cellsInRow = 0
    private var pendingBreaks = 0
    private var pendingSpace = false
    private var pendingTab = false
    private var atLineStart = true

    mutating func text(_ bytes: [UInt8]) {
        for byte in bytes { text(byte) }
    }

    mutating func text(_ byte: UInt8) {
        let whitespace = byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
        if whitespace && preDepth == 0 {
            if !atLineStart { pendingSpace = true }
            return
        }
        if pendingBreaks > 0 {
            if !output.isEmpty { output.append(contentsOf: repeatElement(0x0A, count: pendingBreaks)) }
            pendingBreaks = 0
            pendingSpace = false
            atLineStart = true
        }
        if pendingTab {
            output.append(0x09)
        } else if pendingSpace && !atLineStart {
            output.append(0x20)
        }
        pendingTab = false
        pendingSpace = false
        output.append(byte)
        atLineStart = byte == 0x0A
    }

    /// A block boundary: `count` newlines (2 = paragraph) unless already pending.
    mutating func breakLine(_ count: Int) {
        if !atLineStart || !output.isEmpty { pendingBreaks = max(pendingBreaks, count) }
        pendingSpace = false
        pendingTab = false
    }

    /// `<br>`: each one adds a newline, so two make a paragraph break.
    mutating func lineBreak() {
        pendingBreaks = min(2, pendingBreaks + 1)
        pendingSpace = false
        pendingTab = false
    }

    mutating func cell() {
        if cellsInRow > 0 { pendingTab = true }
        cellsInRow += 1
    }
}

extension UInt8 {
    var isASCIILetter: Bool { (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) }
    var isTagNameByte: Bool { isASCIILetter || (0x30...0x39).contains(self) || self == 0x2D || self == 0x3A }
}

extension [UInt8] {
    func matches(_ literal: StaticString, at index: Int) -> Bool {
        let pattern = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard index >= 0, index + pattern.count <= count else { return false }
        return self[index..<(index + pattern.count)].elementsEqual(pattern)
    }

    func matchesIgnoringCase(_ pattern: [UInt8], at index: Int) -> Bool {
        guard index >= 0, index + pattern.count <= count else { return false }
        return zip(self[index..<(index + pattern.count)], pattern).allSatisfy { $0 | 0x20 == $1 | 0x20 }
    }

    /// The index of the first occurrence of `literal` at or after `start`.
    func firstIndex(of literal: StaticString, from start: Int) -> Int? {
        var index = start
        while index < count {
            if matches(literal, at: index) { return index }
            index += 1
        }
        return nil
    }

    /// The index just after the first occurrence of `literal` at or after `start`.
    func index(after literal: StaticString, from start: Int) -> Int? {
        firstIndex(of: literal, from: start).map { $0 + literal.utf8CodeUnitCount }
    }
}
