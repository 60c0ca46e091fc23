/// One value of an IMAP response's data: an atom (numbers and flags are atoms), a string
/// (quoted or a literal, as raw bytes), NIL, or a parenthesised list.
package indirect enum IMAPValue: Sendable, Hashable {
    case atom(String)
    case string([UInt8])
    case `nil`
    case list([IMAPValue])

    /// An atom's or a string's text (a string decoded as UTF-8, invalid bytes replaced).
    package var text: String? {
        switch self {
        case .atom(let atom): atom
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .nil, .list: nil
        }
    }

    /// The number an atom holds (`* 3 EXISTS`, `UID 101`), if it is one.
    package var number: UInt32? {
        if case .atom(let atom) = self { return UInt32(atom) }
        return nil
    }

    package var bytes: [UInt8]? {
        switch self {
        case .string(let bytes): bytes
        case .atom(let atom): Array(atom.utf8)
        case .nil, .list: nil
        }
    }

    package var list: [IMAPValue]? {
        if case .list(let values) = self { return values }
        return nil
    }
}

/// A status: the tagged answer to a command, or an untagged OK/NO/BAD/PREAUTH/BYE.
package struct IMAPStatus: Sendable, Hashable {
    package enum Kind: String, Sendable {
        case ok = "OK", no = "NO", bad = "BAD", preauth = "PREAUTH", bye = "BYE"
    }

    package var kind: Kind
    /// The response code's name, upper-cased (`UIDVALIDITY`, `AUTHENTICATIONFAILED`), if any.
    package var code: String?
    /// The response code's arguments as the server wrote them (`1796645254`).
    package var codeArguments: String
    /// The human text after the code.
    package var text: String

    package init(kind: Kind, code: String? = nil, codeArguments: String = "", text: String) {
        self.kind = kind
        self.code = code
        self.codeArguments = codeArguments
        self.text = text
    }

    /// `[CODE args] text`, as a message quotes the server.
    package var serverText: String {
        guard let code else { return text }
        return codeArguments.isEmpty ? "[\(code)] \(text)" : "[\(code) \(codeArguments)] \(text)"
    }
}

/// One complete response line (with its literals) from an IMAP server.
package enum IMAPResponse: Sendable, Hashable {
    /// `A3 OK ...`: the end of the command tagged `A3`.
    case tagged(tag: String, IMAPStatus)
    /// `* OK [UIDNEXT 5] ...`, `* BYE ...`.
    case status(IMAPStatus)
    /// `* 3 EXISTS`, `* 2 EXPUNGE`, `* 5 FETCH (...)`: a number, an upper-cased keyword, data.
    case numbered(UInt32, String, [IMAPValue])
    /// `* CAPABILITY ...`, `* SEARCH 1 2`, `* FLAGS (...)`, `* LIST ...`: an upper-cased keyword, data.
    case data(String, [IMAPValue])
    /// `+ ...`: the server waits for the rest of the command (a literal, IDLE, SASL).
    case continuation(String)
}
