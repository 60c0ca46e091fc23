@testable import Connectors
import Foundation
import Testing

@Suite("MIME reader")
struct MIMETests {
    static func message(_ text: String) -> MailMessage {
        MailMessage(parsing: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
    }

    @Test("RFC 2047 words in B and Q, in UTF-8, ISO-8859-1, Windows-1252 and US-ASCII; blanks between words dropped")
    func encodedWords() {
        #expect(EncodedWords.decode("=?UTF-8?B?w6l0w6kgw6AgUGFyaXM=?=") == "été à Paris")
        #expect(EncodedWords.decode("=?iso-8859-1?q?caf=E9_cr=E8me?=") == "café crème")
        #expect(EncodedWords.decode("=?windows-1252?Q?=93quoted=94_=80?=") == "\u{201C}quoted\u{201D} €")
        #expect(EncodedWords.decode("=?us-ascii?Q?plain?=") == "plain")
        #expect(EncodedWords.decode("Re: =?UTF-8?Q?a?= =?UTF-8?Q?b?=  tail") == "Re: ab  tail")
        #expect(EncodedWords.decode("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?_b?=") == "a b")
        // A character split across two words (mailers do it) comes out whole.
        #expect(EncodedWords.decode("=?UTF-8?B?4pyI?= =?UTF-8?B?77iP?=") == "✈️")
        #expect(EncodedWords.decode("=?UTF-8?B?8J+Y?= =?UTF-8?B?gA==?=") == "😀")
        // RFC 2231 language, unknown charset (lossy UTF-8), malformed words kept as written.
        #expect(EncodedWords.decode("=?UTF-8*en?Q?hi?=") == "hi")
        #expect(EncodedWords.decode("=?x-unknown?Q?ok?=") == "ok")
        #expect(EncodedWords.decode("=?UTF-8?X?nope?= and =?broken") == "=?UTF-8?X?nope?= and =?broken")
        #expect(EncodedWords.decode("a =?UTF-8?Q?b?= c") == "a b c")
    }

    @Test("encoding a header: ASCII stays, anything else becomes UTF-8 B words that decode back")
    func encodeHeader() {
        #expect(EncodedWords.encode("Hello") == "Hello")
        let long = String(repeating: "Grüße aus Köln, ", count: 8)
        let encoded = EncodedWords.encode(long)
        #expect(encoded.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(EncodedWords.decode(encoded) == long)
    }

    @Test("charsets: Latin-1 is read as Windows-1252, ISO-8859-15 has the euro, UTF-16 has a BOM, invalid UTF-8 is replaced")
    func charsets() {
        #expect(Charset.decode([0x63, 0x61, 0x66, 0xE9, 0x80], charset: "ISO-8859-1") == "café€")
        #expect(Charset.decode([0xA4], charset: "iso-8859-15") == "€")
        #expect(Charset.decode([0xFF, 0xFE, 0x41, 0x00, 0xE9, 0x00], charset: "UTF-16") == "Aé")
        #expect(Charset.decode([0x61, 0xFF, 0x62], charset: "utf-8") == "a\u{FFFD}b")
        #expect(Charset.decode([0x61, 0xE9], charset: nil) == "aé")
        #expect(Charset.decode(Array("ü".utf8), charset: "us-ascii") == "ü")
    }

    @Test("headers: folded lines joined, names case-insensitive, raw Latin-1 and invalid UTF-8 bytes read without a crash")
    func headers() {
        var bytes = Array("Subject: a long\r\n\tsubject line\r\nX-Raw: caf".utf8) + [0xE9] + Array("\r\nX-Bad: ".utf8) + [0xC3, 0x28]
        bytes += Array("\r\nnot a header line\r\nx-empty:\r\n\r\nbody".utf8)
        let message = MailMessage(parsing: bytes)
        #expect(message.subject == "a long\tsubject line")
        #expect(message.headers["x-raw"] == "café")
        #expect(message.headers["X-BAD"] == "Ã(")
        #expect(message.headers["X-Empty"] == "")
        #expect(message.text == "body")
    }

    @Test("addresses: quoted names with commas, encoded names, groups, the old comment form, source routes")
    func addresses() {
        let message = Self.message("""
            From: "Doe, Jane" <jane@example.com>
            To: =?UTF-8?Q?Ren=C3=A9_Dupont?= <rene@example.fr>, bob@example.com, team: a@x.org, "B \\"Q\\"" <b@x.org>;,
             carol@example.com (Carol Old)
            Cc: undisclosed-recipients:;, <@relay.example:dave@example.com>
            Reply-To: =?UTF-8?B?RG9lLCBKYW5l?= <jane@example.com>

            hi
            """)
        #expect(message.from == [MailAddress(name: "Doe, Jane", address: "jane@example.com")])
        #expect(message.to == [MailAddress(name: "René Dupont", address: "rene@example.fr"), MailAddress(address: "bob@example.com"),
                               MailAddress(address: "a@x.org"), MailAddress(name: "B \"Q\"", address: "b@x.org"),
                               MailAddress(name: "Carol Old", address: "carol@example.com")])
        #expect(message.cc == [MailAddress(address: "dave@example.com")])
        // An encoded comma in a name does not split the address.
        #expect(message.replyTo == [MailAddress(name: "Doe, Jane", address: "jane@example.com")])
        #expect(message.from.first?.description == "Doe, Jane <jane@example.com>")
    }

    @Test("dates: RFC 5322 with and without weekday or seconds, zone names, comments, two-digit years; garbage is nil")
    func dates() {
        let reference = Date(timeIntervalSince1970: 1_057_049_557)  // 2003-07-01 08:52:37 UTC
        #expect(MailDate.parse("Tue, 1 Jul 2003 10:52:37 +0200") == reference)
        #expect(MailDate.parse("1 Jul 2003 08:52:37 GMT") == reference)
        #expect(MailDate.parse("Tue, 01 Jul 03 04:52:37 EDT (Eastern)") == reference)
        #expect(MailDate.parse("Tue,  1 Jul 2003 10:22:37 +0130") == reference)
        #expect(MailDate.parse("Tue, 1 Jul 2003 08:52 +0000") == Date(timeIntervalSince1970: 1_057_049_520))
        #expect(MailDate.parse("Thu, 29 Feb 2024 23:59:60 -0000") == Date(timeIntervalSince1970: 1_709_251_200))
        #expect(MailDate.parseInternalDate("01-Jul-2003 10:52:37 +0200") == reference)
        #expect(MailDate.parseInternalDate(" 1-Jul-2003 01:52:37 -0700") == reference)
        for garbage in ["", "yesterday", "Tue, 41 Jul 2003 10:52:37 +0200", "1 Jul 2003 25:00:00", "1 Foo 2003 10:00:00"] {
            #expect(MailDate.parse(garbage) == nil, "\(garbage)")
        }
        let now = Date(timeIntervalSince1970: 1_735_689_599)
        #expect(MailDate.format(now) == "Tue, 31 Dec 2024 23:59:59 +0000")
        #expect(MailDate.parse(MailDate.format(now)) == now)
        #expect(SearchKey.imapDay(reference) == "1-Jul-2003")
    }

    @Test("multipart/alternative: the text/plain part is the text, the HTML part is kept; ids and references read")
    func alternative() {
        let message = Self.message("""
            From: a@example.com
            Subject: =?UTF-8?Q?Caf=C3=A9?=
            Message-ID: <m1@example.com>
            In-Reply-To: <m0@example.com>
            References: <r1@example.com>
             <m0@example.com>
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="b1"

            preamble
            --b1
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Caf=E9 cr=E8me, a long line that was=
             soft-broken.
            --b1
            Content-Type: text/html; charset=utf-8

            <p>Café <b>crème</b></p>
            --b1--
            epilogue
            """)
        #expect(message.subject == "Café")
        #expect(message.text == "Café crème, a long line that was soft-broken.")
        #expect(message.html == "<p>Café <b>crème</b></p>")
        #expect(message.messageID == "<m1@example.com>")
        #expect(message.inReplyTo == ["<m0@example.com>"])
        #expect(message.references == ["<r1@example.com>", "<m0@example.com>"])
        #expect(message.attachments.isEmpty)
    }

    @Test("nested multiparts: HTML-only text turned into text, attachments with RFC 2231 and RFC 2047 names and sizes")
    func nested() {
        let pdf = Array("%PDF-1.4 binary \u{1}\u{2}".utf8)
        let message = Self.message("""
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/related; boundary="inner"

            --inner
            Content-Type: text/html; charset="windows-1252"
            Content-Transfer-Encoding: base64

            \(Base64.encode(Array("<html><head><title>T</title><style>p{}</style></head><body><h1>Hello</h1><p>One&nbsp;&amp; two &#8364; &eacute;<br>next</p><ul><li>a</li><li>b</li></ul><a href=\"https://x.org/\">site</a><script>alert(1)</script></body></html>".utf8), lineLength: 76))
            --inner
            Content-Type: image/png; name="=?UTF-8?Q?logo_=C3=A9.png?="
            Content-ID: <logo@x>
            Content-Disposition: inline
            Content-Transfer-Encoding: base64

            iVBORw0K
            --inner--
            --outer
            Content-Type: application/pdf
            Content-Disposition: attachment;
             filename*0*=UTF-8''r%C3%A9sum%C3%A9;
             filename*1=".pdf"
            Content-Transfer-Encoding: base64

            \(Base64.encode(pdf, lineLength: 76))
            --outer--
            """)
        #expect(message.text == "Hello\n\nOne & two € é\nnext\n\n- a\n- b\n\nsite (https://x.org/)")
        #expect(message.attachments.count == 2)
        #expect(message.attachments.first?.filename == "logo é.png")
        #expect(message.attachments.first?.contentID == "logo@x")
        #expect(message.attachments.first?.isInline == true)
        #expect(message.attachments.first?.data == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A])
        #expect(message.attachments.last?.filename == "résumé.pdf")
        #expect(message.attachments.last?.contentType == "application/pdf")
        #expect(message.attachments.last?.size == pdf.count)
        #expect(message.attachments.last?.data == pdf)
    }

    @Test("HTML to text: comments, entities, pre, tables and broken markup")
    func html() {
        #expect(HTMLText.plainText("<!-- hidden -->a&lt;b&gt;c &quot;d&quot; &#x41;&#66; &unknown; & x < y") == "a<b>c \"d\" AB &unknown; & x < y")
        #expect(HTMLText.plainText("<pre>  keep\n    this</pre><p>fold   \n  this</p>") == "keep\n    this\n\nfold this")
        #expect(HTMLText.plainText("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>") == "a b\nc")
        #expect(HTMLText.plainText("<div>unclosed <b>bold <a href='mailto:x@y'>x@y</a>") == "unclosed bold x@y")
        #expect(HTMLText.plainText("<img alt=\"chart\" src=x>text<style>never") == "[chart]text")
        #expect(HTMLText.plainText("") == "")
    }

    @Test("format=flowed lines are joined; a plain body without Content-Type is read as text")
    func flowed() {
        let flowedMessage = Self.message("""
            Content-Type: text/plain; charset=utf-8; format=flowed

            This is one \nparagraph.
            >quoted
            -- \nsig
            """)
        #expect(flowedMessage.text == "This is one paragraph.\n>quoted\n-- \nsig")
        #expect(Self.message("Subject: s\n\nJust text.").text == "Just text.")
    }

    @Test("damaged messages: a missing or never-seen boundary, bad base64, no body, a truncated part")
    func damaged() {
        let noBoundary = Self.message("Content-Type: multipart/mixed\n\nsome text")
        #expect(noBoundary.text == "some text")
        let unseen = Self.message("Content-Type: multipart/mixed; boundary=zzz\n\n--other\nContent-Type: text/plain\n\nbody")
        #expect(unseen.text.contains("body"))
        let badBase64 = Self.message("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8g*!!\nd29ybGQ=garbage")
        #expect(badBase64.text == "hello world")
        #expect(Self.message("Subject: only headers").subject == "only headers")
        #expect(Self.message("").text == "")
        let truncated = Self.message("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nstart of the text")
        #expect(truncated.text == "start of the text")
    }
}
