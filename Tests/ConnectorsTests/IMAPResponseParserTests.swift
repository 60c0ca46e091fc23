@testable import Connectors
import Testing
import TestTraits

@Suite("IMAP response parser")
struct IMAPResponseParserTests {
    static func parse(_ text: String) throws -> IMAPResponseParser.Outcome {
        try IMAPResponseParser.parse(Array(text.utf8))
    }

    static func response(_ text: String) throws -> IMAPResponse {
        guard case .response(let response, let consumed) = try parse(text) else {
            Issue.record("incomplete: \(text)")
            return .continuation("")
        }
        #expect(consumed == text.utf8.count)
        return response
    }

    @Test("tagged statuses carry their response code, its arguments and the text")
    func tagged() throws {
        #expect(try Self.response("A1 OK [READ-WRITE] SELECT completed\r\n")
            == .tagged(tag: "A1", IMAPStatus(kind: .ok, code: "READ-WRITE", text: "SELECT completed")))
        #expect(try Self.response("A2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
            == .tagged(tag: "A2", IMAPStatus(kind: .no, code: "AUTHENTICATIONFAILED", text: "Authentication failed.")))
        #expect(try Self.response("A3 bad\r\n") == .tagged(tag: "A3", IMAPStatus(kind: .bad, text: "")))
        #expect(try Self.response("* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Flags permitted.\r\n")
            == .status(IMAPStatus(kind: .ok, code: "PERMANENTFLAGS", codeArguments: "(\\Answered \\Seen \\*)", text: "Flags permitted.")))
        #expect(try Self.response("* OK [UIDVALIDITY 1796645254] UIDs valid\r\n")
            == .status(IMAPStatus(kind: .ok, code: "UIDVALIDITY", codeArguments: "1796645254", text: "UIDs valid")))
        #expect(try Self.response("* BYE Logging out\r\n") == .status(IMAPStatus(kind: .bye, text: "Logging out")))
    }

    @Test("numbered and data responses: atoms, NIL, quoted strings with escapes, nested lists")
    func data() throws {
        #expect(try Self.response("* 23 EXISTS\r\n") == .numbered(23, "EXISTS", []))
        #expect(try Self.response("* SEARCH 2 84 882\r\n") == .data("SEARCH", [.atom("2"), .atom("84"), .atom("882")]))
        #expect(try Self.response("* SEARCH\r\n") == .data("SEARCH", []))
        #expect(try Self.response("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent \\\"old\\\" \\\\ items\"\r\n")
            == .data("LIST", [.list([.atom("\\HasNoChildren"), .atom("\\Sent")]), .string(Array("/".utf8)),
                              .string(Array("Sent \"old\" \\ items".utf8))]))
        #expect(try Self.response("* 1 FETCH (UID 7 FLAGS () X nil Y (NIL (a)))\r\n")
            == .numbered(1, "FETCH", [.list([.atom("UID"), .atom("7"), .atom("FLAGS"), .list([]), .atom("X"), .nil,
                                             .atom("Y"), .list([.nil, .list([.atom("a")])])])]))
    }

    @Test("a section with spaces and parentheses is one atom: BODY[HEADER.FIELDS (FROM TO)]<0>")
    func sections() throws {
        #expect(try Self.response("* 2 FETCH (BODY[HEADER.FIELDS (FROM TO)]<0> \"x\")\r\n")
            == .numbered(2, "FETCH", [.list([.atom("BODY[HEADER.FIELDS (FROM TO)]<0>"), .string([0x78])])]))
    }

    @Test("literals, synchronizing or not, hold any bytes including CRLF and parentheses")
    func literals() throws {
        let body = "Subject: x\r\n\r\n(not a list) \"not a string\"\r\n"
        let text = "* 1 FETCH (UID 5 BODY[] {\(body.utf8.count)}\r\n\(body) FLAGS (\\Seen))\r\n"
        #expect(try Self.response(text)
            == .numbered(1, "FETCH", [.list([.atom("UID"), .atom("5"), .atom("BODY[]"), .string(Array(body.utf8)),
                                             .atom("FLAGS"), .list([.atom("\\Seen")])])]))
        #expect(try Self.response("* LIST () \"/\" {3+}\r\nabc\r\n") == .data("LIST", [.list([]), .string(Array("/".utf8)), .string(Array("abc".utf8))]))
        #expect(try Self.response("* 1 FETCH (BINARY[] ~{2}\r\n\0\u{1})\r\n") == .numbered(1, "FETCH", [.list([.atom("BINARY[]"), .string([0, 1])])]))
    }

    @Test("a continuation request and its text")
    func continuation() throws {
        #expect(try Self.response("+ idling\r\n") == .continuation("idling"))
        #expect(try Self.response("+\r\n") == .continuation(""))
    }

    @Test("every prefix of a response is incomplete and asks for more bytes than it has; a literal asks for all of itself")
    func incomplete() throws {
        let text = Array("* 1 FETCH (UID 5 BODY[] {10}\r\n0123456789 FLAGS (\\Seen \"a\\\"b\"))\r\n".utf8)
        for length in 0..<text.count {
            guard case .incomplete(let needed) = try IMAPResponseParser.parse(Array(text[..<length])) else {
                Issue.record("a prefix of \(length) bytes parsed as complete")
                continue
            }
            #expect(needed > length)
            #expect(needed <= text.count)
        }
        let head = Array("* 1 FETCH (BODY[] {10485760}\r\nabc".utf8)
        guard case .incomplete(let needed) = try IMAPResponseParser.parse(head) else {
            Issue.record("a partial literal parsed as complete")
            return
        }
        #expect(needed == head.count - 3 + 10_485_760 + 2)
    }

    @Test("two responses in one buffer are read one at a time")
    func consecutive() throws {
        let bytes = Array("* 3 EXISTS\r\nA4 OK done\r\n".utf8)
        guard case .response(let first, let consumed) = try IMAPResponseParser.parse(bytes) else {
            Issue.record("no first response")
            return
        }
        #expect(first == .numbered(3, "EXISTS", []))
        #expect(try IMAPResponseParser.parse(Array(bytes[consumed...])) == .response(.tagged(tag: "A4", IMAPStatus(kind: .ok, text: "done")), consumed: 12))
    }

    @Test("a 12 MB literal is parsed in one piece, intact", .blocking)
    func largeLiteral() throws {
        var payload = [UInt8](repeating: 0, count: 12 << 20)
        for index in payload.indices { payload[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 9) }
        let bytes = Array("* 9 FETCH (UID 77 BODY[] {\(payload.count)}\r\n".utf8) + payload + Array(")\r\n".utf8)
        guard case .response(.numbered(9, "FETCH", let values), let consumed) = try IMAPResponseParser.parse(bytes),
              let list = values.first?.list, list.count == 4 else {
            Issue.record("the response was not parsed")
            return
        }
        #expect(consumed == bytes.count)
        #expect(list[3] == .string(payload))
    }

    @Test("malformed responses are protocol errors, not crashes")
    func malformed() throws {
        for text in ["220 mail.example ESMTP\r\n", "* \r\n", "A1 MAYBE\r\n", "* 1 FETCH (UID \"a\r\n\")\r\n",
                     "* 1 FETCH (BODY[] {}\r\n)\r\n", "* OK [ALERT unterminated\r\n", "* 1 FETCH (X {99999999999}\r\n"] {
            #expect(throws: MailError.self, "\(text.debugDescription)") { try Self.parse(text) }
        }
        #expect(throws: MailError.self) { try IMAPResponseParser.parse(Array("* 1 FETCH (X {2000}\r\n".utf8), maximumLiteralSize: 1000) }
    }

    @Test("modified UTF-7 folder names round-trip; & is &-")
    func modifiedUTF7() {
        for name in ["INBOX", "Entwürfe", "日本語/メール", "A&B", "Ünïcödé & more 😀", "~peter/mail/台北/日本語"] {
            #expect(ModifiedUTF7.decode(ModifiedUTF7.encode(name)) == name)
        }
        #expect(ModifiedUTF7.encode("Entwürfe") == "Entw&APw-rfe")
        #expect(ModifiedUTF7.encode("A&B") == "A&-B")
        #expect(ModifiedUTF7.decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語")
    }

    @Test("UID sets are sorted ranges, split before they grow too long")
    func uidSets() {
        #expect(UIDSet.encode([5, 1, 2, 3, 9, 10, 3]) == ["1:3,5,9:10"])
        let many = UIDSet.encode(stride(from: UInt32(1), through: 20_000, by: 2), maximumLength: 100)
        #expect(many.count > 1)
        #expect(many.allSatisfy { $0.utf8.count <= 100 })
        #expect(many.joined(separator: ",").split(separator: ",").count == 10_000)
    }
}
