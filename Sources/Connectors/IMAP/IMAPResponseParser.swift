/// Reads one IMAP response from the front of a byte buffer: tagged and untagged status lines
/// with their response codes, data lines of atoms, quoted strings (with `\"` and `\\`),
/// literals (`{n}`, `{n+}`, `~{n}`) of any size, NIL and nested lists, and continuations.
///
/// It never assumes a response is complete: when the bytes end early it says how many it needs
/// at least, so the caller reads on and parses again only once that many have arrived (a
/// 10 MB literal is parsed once, when all of it is there, and copied out in one piece).
package enum IMAPResponseParser {
    package enum Outcome: Sendable, Hashable {
        /// A whole response, which took the first `consumed` bytes.
        case response(IMAPResponse, consumed: Int)
        /// The buffer ends inside a response; try again with at least `needed` bytes.
        case incomplete(needed: Int)
    }

    /// Larger literals are refused as a protocol error (a hostile or broken server).
    package static let defaultMaximumLiteralSize = 256 << 20

    package static func parse(_ bytes: UnsafeRawBufferPointer, maximumLiteralSize: Int = defaultMaximumLiteralSize) throws -> Outcome {
        var cursor = Cursor(bytes: bytes, maximumLiteralSize: maximumLiteralSize)
        do {
            let response = try cursor.response()
            return .response(response, consumed: cursor.index)
        } catch let incomplete as Cursor.Incomplete {
            return .incomplete(needed: incomplete.needed)
        }
    }

    package static func parse(_ bytes: [UInt8], maximumLiteralSize: Int = defaultMaximumLiteralSize) throws -> Outcome {
        try bytes.withUnsafeBytes { try parse($0, maximumLiteralSize: maximumLiteralSize) }
    }
}

private let space = UInt8(ascii: " "), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
private let openParen = UInt8(ascii: "("), closeParen = UInt8(ascii: ")")
private let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
private let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
private let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}"), tilde = UInt8(ascii: "~")

private struct Cursor {
    struct Incomplete: Error { var needed: Int }

    let bytes: UnsafeRawBufferPointer
    let maximumLiteralSize: Int
    var index = 0
    var depth = 0

    init(bytes: UnsafeRawBufferPointer, maximumLiteralSize: Int) {
        self.bytes = bytes
        self.maximumLiteralSize = maximumLiteralSize
    }

    func malformed(_ what: String) -> MailError {
        MailError(.protocolError, "the IMAP server sent a malformed response (\(what))")
    }

    func peek() throws -> UInt8 {
        guard index < bytes.count else { throw Incomplete(needed: index + 1) }
        return bytes[index]
    }

    mutating func response() throws -> IMAPResponse {
        let first = try peek()
        if first == UInt8(ascii: "+") {
            index += 1
            if try peek() == space { index += 1 }
            return .continuation(try restOfLine())
        }
        if first == UInt8(ascii: "*") {
            index += 1
            guard try peek() == space else { throw malformed("no space after *") }
            index += 1
            let word = try atom()
            if let number = UInt32(word) {
                guard try peek() == space else { throw malformed("no keyword after \(word)") }
                index += 1
                let keyword = try atom().uppercased()
                return .numbered(number, keyword, try values(closing: false))
            }
            let keyword = word.uppercased()
            if let kind = IMAPStatus.Kind(rawValue: keyword) {
                return .status(try statusText(kind))
            }
            return .data(keyword, try values(closing: false))
        }
        let tag = try atom()
        guard !tag.isEmpty, try peek() == space else { throw malformed("a line that is neither tagged nor untagged") }
        index += 1
        guard let kind = IMAPStatus.Kind(rawValue: try atom().uppercased()) else { throw malformed("tagged line without OK, NO or BAD") }
        return .tagged(tag: tag, try statusText(kind))
    }

    /// `[CODE args] text` up to the line's end; code and text are both optional.
    mutating func statusText(_ kind: IMAPStatus.Kind) throws -> IMAPStatus {
        if try peek() == space { index += 1 }
        var status = IMAPStatus(kind: kind, text: "")
        if try peek() == openBracket {
            index += 1
            let nameStart = index
            while try peek() != space, try peek() != closeBracket, try peek() != cr, try peek() != lf { index += 1 }
            status.code = text(nameStart..<index).uppercased()
            if try peek() == space {
                index += 1
                let argumentsStart = index
                var inQuote = false, nesting = 0
                while true {
                    let byte = try peek()
                    if byte == cr || byte == lf { throw malformed("unterminated response code") }
                    if inQuote {
                        if byte == backslash { index += 1 } else if byte == quote { inQuote = false }
                    } else if byte == quote {
                        inQuote = true
                    } else if byte == openBracket {
                        nesting += 1
                    } else if byte == closeBracket {
                        if nesting == 0 { break }
                        nesting -= 1
                    }
                    index += 1
                }
                status.codeArguments = text(argumentsStart..<index)
            }
            guard try peek() == closeBracket else { throw malformed("unterminated response code") }
            index += 1
            if try peek() == space { index += 1 }
        }
        status.text = try restOfLine()
        return status
    }

    /// Values up to the line's end (`closing: false`) or the `)` that closes a list.
    mutating func values(closing: Bool) throws -> [IMAPValue] {
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { throw malformed("lists nested too deep") }
        var result: [IMAPValue] = []
        while true {
            let byte = try peek()
            switch byte {
            case space:
                index += 1
            case cr, lf:
                guard !closing else { throw malformed("unterminated list") }
                try lineEnd()
                return result
            case closeParen:
                index += 1
                if closing { return result }
            case openParen:
                index += 1
                result.append(.list(try values(closing: true)))
            case quote:
                result.append(.string(try quoted()))
            case openBrace, tilde:
                result.append(.string(try literal()))
            default:
                let word = try atom()
                result.append(word.uppercased() == "NIL" ? .nil : .atom(word))
            }
        }
    }

    /// An atom; a `[...]` inside it (`BODY[HEADER.FIELDS (FROM)]`) is taken whole.
    mutating func atom() throws -> String {
        let start = index
        var nesting = 0
        while true {
            let byte = try peek()
            if byte == cr || byte == lf { break }
            if nesting > 0 {
                if byte == closeBracket { nesting -= 1 } else if byte == openBracket { nesting += 1 }
            } else if byte == space || byte == openParen || byte == closeParen || byte == quote {
                break
            } else if byte == openBracket {
                nesting += 1
            } else if byte == closeBracket, index == start {
                break
            }
            index += 1
        }
        guard index > start else { throw malformed("an empty atom") }
        return text(start..<index)
    }

    mutating func quoted() throws -> [UInt8] {
        index += 1
        var result: [UInt8] = []
        while true {
            let byte = try peek()
            index += 1
            switch byte {
            case quote:
                return result
            case backslash:
                result.append(try peek())
                index += 1
            case cr, lf:
                throw malformed("a line break inside a quoted string")
            default:
                result.append(byte)
            }
        }
    }

    /// `{n}` / `{n+}` / `~{n}`, the line break, then n bytes.
    mutating func literal() throws -> [UInt8] {
        if try peek() == tilde { index += 1 }
        guard try peek() == openBrace else { throw malformed("~ without a literal") }
        index += 1
        var size = 0, digits = 0
        while let digit = try peek().asciiDigit {
            size = size * 10 + digit
            digits += 1
            index += 1
            guard digits <= 10, size <= maximumLiteralSize else { throw malformed("a literal larger than \(maximumLiteralSize) bytes") }
        }
        guard digits > 0 else { throw malformed("a literal without a size") }
        if try peek() == UInt8(ascii: "+") { index += 1 }
        guard try peek() == closeBrace else { throw malformed("an unterminated literal size") }
        index += 1
        try lineEnd()
        let end = index + size
        // The literal and at least the line break after the response.
        guard end <= bytes.count else { throw Incomplete(needed: end + 2) }
        let result = Array(bytes[index..<end])
        index = end
        return result
    }

    mutating func lineEnd() throws {
        if try peek() == cr {
            index += 1
        }
        guard try peek() == lf else { throw malformed("a carriage return without a line feed") }
        index += 1
    }

    mutating func restOfLine() throws -> String {
        let start = index
        while try peek() != lf { index += 1 }
        let end = index > start && bytes[index - 1] == cr ? index - 1 : index
        index += 1
        return text(start..<end)
    }

    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

extension UInt8 {
    var asciiDigit: Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) ? Int(self - UInt8(ascii: "0")) : nil
    }
}
