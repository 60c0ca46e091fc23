import Testing
@testable import DocumentText

@Suite("Text formats")
struct TextFormatTests {
    @Test("plain text is kept as is, with CRLF and CR turned into LF and a BOM dropped")
    func plainText() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("Line one\r\nLine two\rLine three\n\n  indented é\n".utf8)
        let result = try Fixtures.extract(bytes, name: "notes.TXT")
        #expect(result.format == .txt)
        #expect(result.text == "Line one\nLine two\nLine three\n\n  indented é\n")
    }

    @Test("a text content type is enough when the name has no known extension")
    func contentType() throws {
        #expect(try Fixtures.extract("a,b\n1,2", name: "data.csv", contentType: "text/csv; charset=utf-8").format == .txt)
        #expect(try Fixtures.extract("# Title", name: "README", contentType: "text/markdown").format == .markdown)
        #expect(try Fixtures.extract("<p>x</p>", name: "page", contentType: "text/html").format == .html)
    }

    @Test("invalid UTF-8 is refused with the offset of the bad byte")
    func invalidUTF8() throws {
        let bytes = Array("caf".utf8) + [0xE9] + Array(" au lait".utf8)  // Latin-1 é
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "menu.txt") }
        #expect(error?.code == .unsupportedType)
        #expect(error?.message.contains("not valid UTF-8") == true)
        #expect(error?.message.contains("offset 3") == true)
    }

    @Test("binary junk named .txt is refused as binary")
    func binaryJunk() throws {
        let bytes = (0..<4_096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "junk.txt") }
        #expect(error?.code == .unsupportedType)
        #expect(error?.message.contains("binary") == true)
    }

    @Test("UTF-16 text is refused with a message asking for UTF-8")
    func utf16() throws {
        let bytes: [UInt8] = [0xFF, 0xFE] + Array("hi".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "wide.txt") }
        #expect(error?.code == .unsupportedType)
        #expect(error?.message.contains("UTF-8") == true)
    }

    @Test("a PNG is an unsupported type even when named .txt")
    func png() throws {
        let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "photo.txt") }
        #expect(error?.code == .unsupportedType)
        #expect(error?.message.contains("PNG image") == true)
    }

    @Test("an unknown extension without a text content type is an unsupported type listing the supported ones")
    func unknownType() throws {
        let error = Fixtures.extractionError { try Fixtures.extract("{}", name: "data.json", contentType: "application/json") }
        #expect(error?.code == .unsupportedType)
        #expect(error?.message.contains(".docx") == true)
    }

    @Test("an empty file gives empty text")
    func emptyFile() throws {
        #expect(try Fixtures.extract("", name: "empty.md").text == "")
    }

    @Test("a file larger than maxFileBytes is refused before it is read")
    func fileSize() throws {
        let error = Fixtures.extractionError {
            try Fixtures.extract(Array(repeating: UInt8(ascii: "a"), count: 2_000), name: "big.txt", configuration: .init(maxFileBytes: 1_000))
        }
        #expect(error?.code == .tooLarge)
    }

    @Test("a missing file is an extraction failure that does not reveal the path")
    func missingFile() throws {
        let path = "/nonexistent/secret-location/upload.txt"
        let error = Fixtures.extractionError {
            try TextExtractor().extract(fileAt: path, declaredName: "notes.txt", contentType: "text/plain")
        }
        #expect(error?.code == .extractionFailed)
        #expect(error?.message.contains("secret-location") == false)
    }

    @Test("invalid configurations are refused")
    func configuration() {
        #expect(throws: ExtractionError.self) { try TextExtractor(configuration: .init(maxEntryBytes: 0)) }
    }
}

@Suite("Markdown and HTML")
struct MarkupTests {
    @Test("Markdown keeps words and paragraphs and drops headings, emphasis, link syntax and comments")
    func markdown() throws {
        let markdown = """
        # Project *Atlas* #

        Some **bold** and _emphasised_ text with a [link](https://example.com "title") and ![a chart](chart.png).
        A snake_case_name, 2 * 3 * 4 and `inline *code*` stay.<!-- hidden -->

        <!--
        a multi-line comment
        -->
        > Quoted ~~old~~ words
        * first item
        + second item

        Setext heading
        ==============

        | Name | Value |
        |------|------:|
        | a    | 1     |

        ```swift
        let x = **y**
        ```
        ---
        See <https://example.org> and [the docs][docs].

        [docs]: https://example.com/docs
        """
        let result = try Fixtures.extract(markdown, name: "README.md")
        #expect(result.format == .markdown)
        #expect(result.text == """
        Project Atlas

        Some bold and emphasised text with a link and a chart.
        A snake_case_name, 2 * 3 * 4 and inline *code* stay.

        Quoted old words
        - first item
        - second item

        Setext heading

        Name | Value
        a    | 1

        let x = **y**
        See https://example.org and the docs.
        """)
    }

    @Test("HTML drops script, style, head and comments, breaks blocks into paragraphs and decodes entities")
    func html() throws {
        let html = """
        <!DOCTYPE html>
        <html><head><title>Ignored title</title><style>p { color: red; }</style>
        <script>var x = "<p>not text</p>";</script></head>
        <body>
        <h1>Caf&eacute;   &amp; Bar</h1>
        <p>First   paragraph
           over two lines.<br>After a break&nbsp;&mdash; &#8220;quoted&#x201D; &#150; &lt;tag&gt; &bogus; A&B</p>
        <!-- a comment -->
        <ul><li>One</li><li>Two <b>bold</b></li></ul>
        <table><tr><th>Name</th><th>Qty</th></tr><tr><td>Apple</td><td>3</td></tr></table>
        <pre>  keep
            spacing</pre>
        <div>Unclosed <span class="x>y">attr</span> 3 < 4
        <script type="text/javascript">alert('x')</script>end</div>
        </body></html>
        """
        let result = try Fixtures.extract(html, name: "page.HTM")
        #expect(result.format == .html)
        #expect(result.text == """
        Café & Bar

        First paragraph over two lines.
        After a break — “quoted” – <tag> &bogus; A&B

        One
        Two bold

        Name\tQty
        Apple\t3

          keep
            spacing

        Unclosed attr 3 < 4 end
        """)
    }
}
