#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A header block: its fields in order, unfolded, with values decoded on request (RFC 2047,
/// raw 8-bit bytes as UTF-8 or Windows-1252).
package struct MailHeaders: Sendable, Hashable {
    package struct Field: Sendable, Hashable {
        package var name: String
        /// The unfolded value's bytes, without the leading and trailing blanks.
        package var raw: [UInt8]
        /// The value with encoded words decoded.
        package var value: String { EncodedWords.decode(raw) }
    }

    package var fields: [Field]

    package init(fields: [Field] = []) {
        self.fields = fields
    }

    /// The first field with this name (case-insensitive), decoded.
    package subscript(_ name: String) -> String? {
        field(name)?.value
    }

    package func field(_ name: String) -> Field? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }
    }

    /// Every field with this name, decoded, in order.
    package func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// Reads the header block at the start of `bytes` up to the first empty line (CRLF or LF
    /// line ends). Returns the headers and the index where the body starts (`endIndex` when
    /// there is no empty line: a message of headers only, or a truncated one).
    /// Lines that are not `name: value` are skipped.
    static func parse(_ bytes: ArraySlice<UInt8>) -> (MailHeaders, bodyStart: Int) {
        var fields: [Field] = []
        var current: (name: String, value: [UInt8])?
        var lineStart = bytes.startIndex
        var bodyStart = bytes.endIndex

        func finish() {
            guard let field = current else { return }
            fields.append(Field(name: field.name, raw: trimmed(field.value)))
            current = nil
        }

        while lineStart < bytes.endIndex {
            let lineEnd = nextLineFeed(in: bytes, from: lineStart) ?? bytes.endIndex
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
            let next = lineEnd < bytes.endIndex ? lineEnd + 1 : lineEnd
            if contentEnd == lineStart {
                bodyStart = next
                break
            }
            let first = bytes[lineStart]
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                current?.value.append(contentsOf: bytes[lineStart..<contentEnd])
            } else {
                finish()
                if let colon = bytes[lineStart..<contentEnd].firstIndex(of: UInt8(ascii: ":")) {
                    let name = trimmed(Array(bytes[lineStart..<colon]))
                    if !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                        current = (String(decoding: name, as: UTF8.self), Array(bytes[(colon + 1)..<contentEnd]))
                    }
                }
            }
            lineStart = next
        }
        finish()
        return (MailHeaders(fields: fields), bodyStart)
    }

    /// The index of the next `\n` at or after `start` (memchr: large bodies are scanned by line).
    static func nextLineFeed(in bytes: ArraySlice<UInt8>, from start: Int) -> Int? {
        guard start < bytes.endIndex else { return nil }
        return bytes[start...].withUnsafeBytes { buffer -> Int? in
            guard let base = buffer.baseAddress, let found = memchr(base, 0x0A, buffer.count) else { return nil }
            return start + (UnsafeRawPointer(found) - base)
        }
    }

    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) }) else { return [] }
        return Array(bytes[first...last])
    }
}

/// A structured header value: `text/plain; charset="utf-8"`, `attachment; filename*=UTF-8''%E2%82%AC.pdf`.
struct HeaderParameters {
    /// The value before the first `;`, lower-cased and trimmed (`text/plain`, `attachment`).
    var value: String
    /// Parameters by lower-cased name, decoded: quoted strings unescaped, RFC 2231
    /// continuations joined and percent-decoded in their charset, RFC 2047 words decoded
    /// (mailers put them in file names although the standard does not allow it).
    var parameters: [String: String]

    init(_ raw: [UInt8]) {
        let text = Charset.decode(raw, charset: nil)
        var pieces: [String] = []
        var piece = ""
        var inQuote = false, escaped = false
        for character in text {
            if escaped { piece.append(character); escaped = false; continue }
            if inQuote, character == "\\" { piece.append(character); escaped = true; continue }
            if character == "\"" { inQuote.toggle() }
            if character == ";", !inQuote {
                pieces.append(piece)
                piece = ""
            } else {
                piece.append(character)
            }
        }
        pieces.append(piece)
        value = pieces[0].trimmingWhitespace().lowercased()

        var plain: [String: String] = [:]
        var extended: [String: [(index: Int, encoded: Bool, text: String)]] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            var name = piece[..<equals].trimmingWhitespace().lowercased()
            var raw = piece[piece.index(after: equals)...].trimmingWhitespace()
            if raw.hasPrefix("\""), raw.count >= 2 {
                raw = Self.unquote(raw)
            }
            guard !name.isEmpty else { continue }
            let encoded = name.hasSuffix("*")
            if encoded { name.removeLast() }
            if let star = name.lastIndex(of: "*"), let index = Int(name[name.index(after: star)...]) {
                extended[String(name[..<star]), default: []].append((index, encoded, raw))
            } else if encoded {
                extended[name, default: []].append((0, true, raw))
            } else {
                plain[name] = raw
            }
        }
        for (name, segments) in extended {
            var charset: String?
            var bytes: [UInt8] = []
            for segment in segments.sorted(by: { $0.index < $1.index }) {
                guard segment.encoded else { bytes += Array(segment.text.utf8); continue }
                var text = Substring(segment.text)
                if segment.index == 0 {
                    let parts = segment.text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                    if parts.count == 3 {
                        charset = parts[0].isEmpty ? nil : String(parts[0])
                        text = parts[2]
                    }
                }
                bytes += Self.percentDecode(text)
            }
            plain[name] = Charset.decode(bytes, charset: charset ?? "utf-8")
        }
        parameters = plain.mapValues { $0.contains("=?") ? EncodedWords.decode($0) : $0 }
    }

    private static func unquote(_ quoted: String) -> String {
        var result = ""
        var escaped = false
        for character in quoted.dropFirst().dropLast() {
            if escaped { result.append(character); escaped = false } else if character == "\\" { escaped = true } else { result.append(character) }
        }
        return result
    }

    private static func percentDecode(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                output.append(value)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (line breaks included).
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
