/// IMAP's modified UTF-7 for folder names (RFC 3501 5.1.3): printable ASCII stands for
/// itself (`&` as `&-`), anything else is UTF-16 in base64 with `,` for `/` between `&` and `-`.
package enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    package static func encode(_ name: String) -> String {
        var output = ""
        var pending: [UInt16] = []

        func flush() {
            guard !pending.isEmpty else { return }
            var bytes: [UInt8] = []
            for unit in pending { bytes.append(UInt8(unit >> 8)); bytes.append(UInt8(unit & 0xFF)) }
            var encoded = "&"
            var index = 0
            while index < bytes.count {
                let remaining = bytes.count - index
                let b0 = bytes[index], b1 = remaining > 1 ? bytes[index + 1] : 0, b2 = remaining > 2 ? bytes[index + 2] : 0
                encoded.unicodeScalars.append(Unicode.Scalar(alphabet[Int(b0 >> 2)]))
                encoded.unicodeScalars.append(Unicode.Scalar(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]))
                if remaining > 1 { encoded.unicodeScalars.append(Unicode.Scalar(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)])) }
                if remaining > 2 { encoded.unicodeScalars.append(Unicode.Scalar(alphabet[Int(b2 & 0x3F)])) }
                index += 3
            }
            output += encoded + "-"
            pending.removeAll()
        }

        for scalar in name.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F {
                flush()
                output += scalar == "&" ? "&-" : String(scalar)
            } else {
                pending.append(contentsOf: String(scalar).utf16)
            }
        }
        flush()
        return output
    }

    /// Decodes a name; a malformed `&...-` run is kept as it is, and raw UTF-8 (servers with
    /// UTF8=ACCEPT) passes through.
    package static func decode(_ name: String) -> String {
        let bytes = Array(name.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "&"), let end = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "-")) else {
                output.append(byte)
                index += 1
                continue
            }
            if end == index + 1 {
                output.append(byte)
            } else {
                let run = bytes[(index + 1)..<end].map { $0 == UInt8(ascii: ",") ? UInt8(ascii: "/") : $0 }
                let raw = Base64.decode(run)
                var units: [UInt16] = []
                var at = 0
                while at + 1 < raw.count {
                    units.append(UInt16(raw[at]) << 8 | UInt16(raw[at + 1]))
                    at += 2
                }
                output.append(contentsOf: String(decoding: units, as: UTF16.self).utf8)
            }
            index = end + 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
