/// JSON string escaping on UTF-8 bytes, shared by the log handler and the control plane's
/// response writer.
public enum JSONEscaping {
    /// Appends `utf8` as a JSON string (quoted, with `"`, `\` and control characters escaped):
    /// copied in one go when nothing needs escaping, which is nearly always.
    @inlinable
    public static func appendString(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(0x22)
        var plain = true
        for byte in utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            plain = false
            break
        }
        if plain {
            bytes.append(contentsOf: utf8)
        } else {
            appendEscaped(utf8, to: &bytes)
        }
        bytes.append(0x22)
    }

    /// Appends `text` as a JSON string.
    @inlinable
    public static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString($0, to: &bytes) }
    }

    @usableFromInline
    static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for byte in utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20: bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default: bytes.append(byte)
            }
        }
    }
}
