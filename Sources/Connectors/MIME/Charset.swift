/// Text in the charsets mail arrives in. UTF-8, US-ASCII, ISO-8859-1 (read as Windows-1252,
/// as browsers do: senders mislabel it that way all the time), ISO-8859-15, Windows-1252 and
/// UTF-16; anything else is read as UTF-8 with invalid bytes replaced. Never fails.
package enum Charset {
    /// Decodes `bytes` in the charset named by a MIME label (`"UTF-8"`, `iso-8859-1`). With no
    /// label: UTF-8 when the bytes are valid UTF-8, else Windows-1252 (raw 8-bit headers).
    package static func decode(_ bytes: some Collection<UInt8>, charset label: String?) -> String {
        guard let label else { return utf8OrLegacy(bytes) }
        switch normalized(label) {
        case "utf8", "unicode11utf8", "xunicode20utf8":
            return String(decoding: bytes, as: UTF8.self)
        case "usascii", "ascii", "ansix3.41968", "us", "iso646us", "":
            return utf8OrLegacy(bytes)
        case "iso88591", "latin1", "l1", "cp819", "ibm819", "iso885911987", "windows1252", "cp1252", "xcp1252":
            return windows1252(bytes)
        case "iso885915", "latin9", "l9":
            return latin9(bytes)
        case "utf16", "utf16le", "utf16be":
            return utf16(Array(bytes), bigEndianByDefault: normalized(label) != "utf16le")
        default:
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Whether `decode` knows the label (others are read as lossy UTF-8).
    package static func isKnown(_ label: String) -> Bool {
        ["utf8", "usascii", "ascii", "iso88591", "latin1", "windows1252", "cp1252", "iso885915", "utf16", "utf16le", "utf16be"]
            .contains(normalized(label))
    }

    private static func normalized(_ label: String) -> String {
        String(label.lowercased().unicodeScalars.filter { $0 != "-" && $0 != "_" && $0 != "\"" && $0 != " " && $0 != ":" })
    }

    static func utf8OrLegacy(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return windows1252(bytes)
    }

    /// 0x80-0x9F are Windows-1252's printable characters; the rest is ISO-8859-1.
    static func windows1252(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if byte >= 0x80, byte < 0xA0 {
                scalars.append(Unicode.Scalar(cp1252High[Int(byte - 0x80)]) ?? Unicode.Scalar(byte))
            } else {
                scalars.append(Unicode.Scalar(byte))
            }
        }
        return String(scalars)
    }

    private static func latin9(_ bytes: some Collection<UInt8>) -> String {
        let differences: [UInt8: UInt32] = [0xA4: 0x20AC, 0xA6: 0x160, 0xA8: 0x161, 0xB4: 0x17D, 0xB8: 0x17E, 0xBC: 0x152, 0xBD: 0x153, 0xBE: 0x178]
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            scalars.append(differences[byte].flatMap(Unicode.Scalar.init) ?? Unicode.Scalar(byte))
        }
        return String(scalars)
    }

    private static func utf16(_ bytes: [UInt8], bigEndianByDefault: Bool) -> String {
        var bigEndian = bigEndianByDefault
        var start = 0
        if bytes.count >= 2 {
            if bytes[0] == 0xFE, bytes[1] == 0xFF { bigEndian = true; start = 2 }
            if bytes[0] == 0xFF, bytes[1] == 0xFE { bigEndian = false; start = 2 }
        }
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = start
        while index + 1 < bytes.count {
            let (high, low) = bigEndian ? (bytes[index], bytes[index + 1]) : (bytes[index + 1], bytes[index])
            units.append(UInt16(high) << 8 | UInt16(low))
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    private static let cp1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178,
    ]
}
