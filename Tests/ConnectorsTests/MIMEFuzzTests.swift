@testable import Connectors
import Foundation
import Testing
import TestTraits

/// Real-shaped messages cut at every length and mutated at random: reading never traps, and
/// what the headers say stays right once the header block is complete.
@Suite("MIME reader on damaged input", .blocking)
struct MIMEFuzzTests {
    static let corpus: [[UInt8]] = [
        crlf("""
            From: =?UTF-8?Q?Ren=C3=A9?= <rene@example.fr>
            To: "Doe, Jane" <jane@example.com>, team: a@x.org, b@x.org;
            Subject: =?iso-8859-1?Q?R=E9sum=E9?= and =?UTF-8?B?4pyI77iP?=
            Date: Tue, 1 Jul 2003 10:52:37 +0200
            Message-ID: <m1@example.com>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="outer"

            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Caf=E9 cr=E8me with a soft=
             break and =3D signs.
            --inner
            Content-Type: text/html; charset=utf-8
            Content-Transfer-Encoding: base64

            \(Base64.encode(Array("<html><body><p>Café &amp; <b>crème</b></p><ul><li>one</li></ul></body></html>".utf8), lineLength: 76))
            --inner--
            --outer
            Content-Type: application/pdf; name="report.pdf"
            Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
            Content-Transfer-Encoding: base64

            \(Base64.encode((0..<600).map { UInt8(truncatingIfNeeded: $0 &* 7) }, lineLength: 76))
            --outer
            Content-Type: message/rfc822

            Subject: inner message
            Content-Type: text/plain

            forwarded body
            --outer--
            """),
        crlf("""
            From: plain@example.com
            Subject: =?windows-1252?Q?=93quoted=94?=
            Content-Type: text/html; charset=windows-1252
            Content-Transfer-Encoding: quoted-printable

            <html><head><style>p { color: red }</style><script>var x = "<p>";</script></head>
            <body><h1>Title</h1><p>Price: 10=80 &euro; &#x263A;</p><table><tr><td>a</td><td>b</td></tr></table>
            <a href=3D"https://example.com/a?b=3Dc">link</a><!-- comment --><pre>  pre  text</pre></body></html>
            """),
        crlf("From: raw <raw@example.com>\nSubject: caf") + [0xE9, 0x20, 0xC3, 0x28, 0xFF]
            + crlf("\nContent-Type: text/plain; charset=utf-8; format=flowed\n\nflowed \nline\n>quote\n"),
    ]

    static func crlf(_ text: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    /// Uses every field, so a lazy trap would show.
    @discardableResult
    static func read(_ bytes: [UInt8]) -> Int {
        let message = MailMessage(parsing: bytes)
        return message.text.count + (message.html?.count ?? 0) + message.attachments.reduce(0) { $0 + $1.size + ($1.filename?.count ?? 0) }
            + message.from.count + message.to.count + (message.subject?.count ?? 0) + (message.date == nil ? 0 : 1) + message.references.count
    }

    @Test("every truncation of real-shaped messages reads; the subject is right once the header block is complete")
    func truncations() {
        for bytes in Self.corpus {
            let whole = MailMessage(parsing: bytes)
            let headerEnd = MailHeaders.parse(bytes[...]).bodyStart
            #expect(whole.subject != nil)
            for length in 0...bytes.count where length < 700 || length % 5 == 0 || length == bytes.count {
                let prefix = Array(bytes[..<length])
                Self.read(prefix)
                if length >= headerEnd {
                    #expect(MailMessage(parsing: prefix).subject == whole.subject, "cut at \(length)")
                }
            }
        }
        let first = MailMessage(parsing: Self.corpus[0])
        #expect(first.subject == "Résumé and ✈️")
        #expect(first.text == "Café crème with a soft break and = signs.")
        #expect(first.attachments.map(\.filename) == ["résumé.pdf", nil])
        #expect(first.attachments.first?.size == 600)
        #expect(MailMessage(parsing: Self.corpus[1]).text.contains("Price: 10€ € ☺"))
        #expect(MailMessage(parsing: Self.corpus[2]).subject == "café Ã(ÿ")
    }

    @Test("thousands of random mutations (bytes flipped, inserted, removed; MIME-significant bytes favoured) read without a trap")
    func mutations() {
        var random = SplitMix64(seed: 0x5EED_1234)
        let interesting: [UInt8] = Array("=?-_\r\n<>&;:\"\\(){}%*'".utf8) + [0x00, 0x80, 0x9F, 0xC3, 0xE9, 0xFF]
        var total = 0
        for _ in 0..<3000 {
            var bytes = Self.corpus[Int(random.next() % UInt64(Self.corpus.count))]
            for _ in 0..<(1 + Int(random.next() % 8)) where !bytes.isEmpty {
                let position = Int(random.next() % UInt64(bytes.count))
                let byte = random.next() % 2 == 0 ? interesting[Int(random.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: random.next())
                switch random.next() % 3 {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: bytes.remove(at: position)
                }
            }
            total += Self.read(bytes)
        }
        #expect(total > 0)
    }

    @Test("pathological nesting, a huge header and lone boundaries read quickly without a trap")
    func pathological() {
        var nested = ""
        for depth in 0..<200 { nested += "Content-Type: multipart/mixed; boundary=b\(depth)\r\n\r\n--b\(depth)\r\n" }
        nested += "Content-Type: text/plain\r\n\r\ndeep"
        #expect(MailMessage(parsing: Array(nested.utf8)).text.isEmpty == false)
        let longHeader = "Subject: " + String(repeating: "=?UTF-8?B?w6k=?= ", count: 20_000) + "\r\n\r\nx"
        #expect(MailMessage(parsing: Array(longHeader.utf8)).subject?.count == 20_000)
        let boundaries = "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n----\r\n"
        Self.read(Array(boundaries.utf8))
        Self.read(Array(repeating: 0x0A, count: 10_000))
        Self.read(Array(repeating: UInt8(ascii: ":"), count: 10_000))
    }
}

/// A small seeded generator, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
