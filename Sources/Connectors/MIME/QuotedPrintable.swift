/// Quoted-printable (RFC 2045 6.7) and the Q encoding of headers (RFC 2047 4.2), decoded
/// leniently: a `=` not followed by two hex digits or a line break stays as it is.
package enum QuotedPrintable {
    package static func decode(_ bytes: some Collection<UInt8>, header: Bool = false) -> [UInt8] {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if header, byte == UInt8(ascii: "_") {
                output.append(UInt8(ascii: " "))
                index += 1
                continue
            }
            guard byte == UInt8(ascii: "=") else {
                output.append(byte)
                index += 1
                continue
            }
            if index + 2 < input.count, let high = hex(input[index + 1]), let low = hex(input[index + 2]) {
                output.append(high << 4 | low)
                index += 3
                continue
            }
            // A soft line break: `=`, optional trailing blanks, then CRLF or LF.
            var next = index + 1
            while next < input.count, input[next] == UInt8(ascii: " ") || input[next] == UInt8(ascii: "\t") { next += 1 }
            if next < input.count, input[next] == UInt8(ascii: "\r") { next += 1 }
            if next < input.count, input[next] == UInt8(ascii: "\n") {
                index = next + 1
                continue
            }
            if next >= input.count { break }
            output.append(byte)
            index += 1
        }
        return output
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
