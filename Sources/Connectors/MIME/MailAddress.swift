/// A mailbox from an address header: `"Doe, Jane" <jane@example.com>` is name `Doe, Jane`,
/// address `jane@example.com`.
package struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The display name, decoded (RFC 2047), if there is one.
    package var name: String?
    package var address: String

    package init(name: String? = nil, address: String) {
        self.name = name
        self.address = address
    }

    package var description: String {
        guard let name, !name.isEmpty else { return address }
        return "\(name) <\(address)>"
    }

    /// Every mailbox of an address list (`To:`, `Cc:`, `From:`): commas and group syntax
    /// (`team: a@x, b@x;`) outside quotes, comments and angle brackets separate them; the old
    /// `jane@example.com (Jane Doe)` form takes its name from the comment. Names are decoded
    /// after the structure is read, so an encoded comma in a name never splits it.
    package static func parseList(_ raw: [UInt8]) -> [MailAddress] {
        let text = Charset.decode(raw, charset: nil)
        var elements: [String] = []
        var current = ""
        var inQuote = false, escaped = false, angle = false, comment = 0
        for character in text {
            if escaped { current.append(character); escaped = false; continue }
            switch character {
            case "\\" where inQuote || comment > 0:
                escaped = true
            case "\"" where comment == 0:
                inQuote.toggle()
            case "(" where !inQuote:
                comment += 1
            case ")" where !inQuote && comment > 0:
                comment -= 1
            case "<" where !inQuote && comment == 0:
                angle = true
            case ">" where !inQuote && comment == 0:
                angle = false
            case ",", ";":
                if !inQuote && !angle && comment == 0 {
                    elements.append(current)
                    current = ""
                    continue
                }
            case ":":
                // A group's name ends here: `undisclosed-recipients:;`, `team: a@x, b@x;`.
                if !inQuote && !angle && comment == 0 {
                    current = ""
                    continue
                }
            default:
                break
            }
            current.append(character)
        }
        elements.append(current)
        return elements.compactMap(parseOne)
    }

    private static func parseOne(_ element: String) -> MailAddress? {
        let element = element.trimmingWhitespace()
        guard !element.isEmpty else { return nil }
        if let open = element.lastIndex(of: "<"), let close = element[open...].firstIndex(of: ">") {
            var address = String(element[element.index(after: open)..<close]).trimmingWhitespace()
            // An obsolete source route: `<@relay.example:jane@example.com>`.
            if address.hasPrefix("@"), let colon = address.firstIndex(of: ":") {
                address = String(address[address.index(after: colon)...])
            }
            guard !address.isEmpty else { return nil }
            let name = displayName(String(element[..<open]))
            return MailAddress(name: name, address: address)
        }
        var address = ""
        var commentText = ""
        var depth = 0
        for character in element {
            if character == "(" { depth += 1; if depth == 1 { continue } }
            if character == ")", depth > 0 { depth -= 1; if depth == 0 { continue } }
            if depth > 0 { commentText.append(character) } else if !character.isWhitespace && character != "\"" { address.append(character) }
        }
        guard address.contains("@") || !address.isEmpty else { return nil }
        return MailAddress(name: displayName(commentText), address: address)
    }

    /// A phrase without its quotes and comments, blanks folded, encoded words decoded.
    private static func displayName(_ phrase: String) -> String? {
        var result = ""
        var escaped = false, depth = 0
        for character in phrase {
            if escaped { result.append(character); escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "(" { depth += 1; continue }
            if character == ")", depth > 0 { depth -= 1; continue }
            if character == "\"" || depth > 0 { continue }
            result.append(character)
        }
        let decoded = EncodedWords.decode(result)
        let folded = decoded.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return folded.isEmpty ? nil : folded
    }
}
