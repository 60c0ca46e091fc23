/// RFC 2047 encoded words in header values: `=?UTF-8?B?w6k=?=`, `=?iso-8859-1?Q?caf=E9?=`.
///
/// Blanks between two encoded words are dropped (RFC 2047 6.2); the bytes of adjacent words in
/// one charset are joined before decoding, so a character split across two words (which
/// mailers do) comes out whole. Text outside encoded words is UTF-8, or Windows-1252 when it is
/// not valid UTF-8 (raw 8-bit headers). A malformed word stays as it was written.
package enum EncodedWords {
    package static func decode(_ text: String) -> String {
        decode(Array(text.utf8))
    }

    package static func decode(_ raw: [UInt8]) -> String {
        var output = ""
        var plain: [UInt8] = []
        var encoded: [UInt8] = []
        var encodedCharset = ""
        var index = 0

        func flushEncoded() {
            guard !encoded.isEmpty || !encodedCharset.isEmpty else { return }
            output += Charset.decode(encoded, charset: encodedCharset)
            encoded.removeAll()
            encodedCharset = ""
        }
        func flushPlain() {
            guard !plain.isEmpty else { return }
            output += Charset.decode(plain, charset: nil)
            plain.removeAll()
        }

        while index < raw.count {
            if raw[index] == UInt8(ascii: "="), index + 1 < raw.count, raw[index + 1] == UInt8(ascii: "?"),
               let word = word(in: raw, at: index) {
                // Only blanks since the last encoded word: they are not part of the text.
                if !encodedCharset.isEmpty || !encoded.isEmpty, plain.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) {
                    plain.removeAll()
                }
                flushPlain()
                if word.charset != encodedCharset { flushEncoded() }
                encodedCharset = word.charset
                encoded += word.bytes
                index = word.end
                continue
            }
            if !(raw[index] == 0x20 || raw[index] == 0x09 || raw[index] == 0x0D || raw[index] == 0x0A) { flushEncoded() }
            plain.append(raw[index])
            index += 1
        }
        flushEncoded()
        flushPlain()
        return output
    }

    /// `=?charset?B|Q?text?=` starting at `start`: the decoded bytes, its charset and the index
    /// after it; nil when it is not a well-formed word.
    private static func word(in raw: [UInt8], at start: Int) -> (charset: String, bytes: [UInt8], end: Int)? {
        var index = start + 2
        let charsetStart = index
        while index < raw.count, raw[index] != UInt8(ascii: "?") {
            guard raw[index] > 0x20, raw[index] < 0x7F, index - charsetStart < 64 else { return nil }
            index += 1
        }
        guard index + 2 < raw.count, index > charsetStart, raw[index + 2] == UInt8(ascii: "?") else { return nil }
        var charset = String(decoding: raw[charsetStart..<index], as: UTF8.self)
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 language
        let encoding = raw[index + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        index += 3
        let textStart = index
        while index + 1 < raw.count, !(raw[index] == UInt8(ascii: "?") && raw[index + 1] == UInt8(ascii: "=")) {
            guard raw[index] != 0x0D, raw[index] != 0x0A else { return nil }
            index += 1
        }
        guard index + 1 < raw.count else { return nil }
        let text = raw[textStart..<index]
        let bytes = encoding == UInt8(ascii: "b") ? Base64.decode(text) : QuotedPrintable.decode(text, header: true)
        return (charset.isEmpty ? "utf-8" : charset, bytes, index + 2)
    }

    /// A header value as encoded words when it is not plain ASCII (UTF-8, B encoding), in
    /// words short enough for 76-character lines; plain ASCII stays as it is.
    package static func encode(_ text: String) -> String {
        guard !text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(Base64.encode(chunk))?=")
                chunk.removeAll()
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Base64.encode(chunk))?=") }
        return words.joined(separator: "\r\n ")
    }
}
