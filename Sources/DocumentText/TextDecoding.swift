/// UTF-8 validation and line-ending normalisation of the text formats.
enum TextDecoding {
    /// Decodes UTF-8 (a BOM is dropped), turning CRLF and lone CR into LF.
    /// - Throws: `unsupported_type` for UTF-16/UTF-32 text, invalid UTF-8 or binary content.
    static func decode(_ bytes: [UInt8], kind: String) throws -> String {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        if body.starts(with: [0xFF, 0xFE]) || body.starts(with: [0xFE, 0xFF]) {
            throw ExtractionError(.unsupportedType, "The \(kind) is UTF-16 or UTF-32 encoded; only UTF-8 text is accepted.")
        }
        var normalized: [UInt8] = []
        normalized.reserveCapacity(body.count)
        var previousWasCR = false
        var controls = 0
        for byte in body {
            switch byte {
            case 0x0D:
                normalized.append(0x0A)
            case 0x0A where previousWasCR:
                break
            case 0x00:
                throw binary(kind)
            case 0x01...0x08, 0x0E...0x1F, 0x7F:
                controls += 1
                normalized.append(byte)
            default:
                normalized.append(byte)
            }
            previousWasCR = byte == 0x0D
        }
        // A few stray control characters occur in real text; many mean it is not text.
        if controls > 8 && controls * 100 > normalized.count {
            throw binary(kind)
        }
        guard let text = String(validating: normalized, as: UTF8.self) else {
            let offset = firstInvalidUTF8Offset(normalized) + (bytes.count - body.count)
            throw ExtractionError(.unsupportedType, "The \(kind) is not valid UTF-8 text (invalid byte at offset \(offset)); save it as UTF-8 and upload it again.")
        }
        return text
    }

    private static func binary(_ kind: String) -> ExtractionError {
        ExtractionError(.unsupportedType, "The \(kind) contains binary data, not text.")
    }

    /// The byte offset of the first invalid UTF-8 sequence (before CRLF folding: approximate).
    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return offset
            case .error: return offset
            }
        }
    }
}

/// Clean-ups shared by the extractors.
enum TextTidy {
    /// Collapses runs of blank lines to one, drops trailing spaces and tabs at line ends and
    /// blank lines at both ends of the text.
    static func tidy(_ text: String) -> String {
        var lines: [Substring] = []
        var blank = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.droppingTrailingSpaces()
            if trimmed.allSatisfy(\.isWhitespace) {
                blank += 1
                continue
            }
            if blank > 0 && !lines.isEmpty { lines.append("") }
            blank = 0
            lines.append(trimmed)
        }
        return lines.joined(separator: "\n")
    }
}

extension StringProtocol {
    /// The text without leading and trailing Unicode whitespace.
    func trimmedOfWhitespace() -> String {
        let scalars = Substring(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(Substring(scalars[first...last]))
    }

    /// The text without trailing spaces and tabs.
    func droppingTrailingSpaces() -> SubSequence {
        var end = endIndex
        while end > startIndex {
            let before = index(before: end)
            guard self[before] == " " || self[before] == "\t" else { break }
            end = before
        }
        return self[startIndex..<end]
    }
}
