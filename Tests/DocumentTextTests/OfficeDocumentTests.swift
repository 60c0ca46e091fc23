import Testing
@testable import DocumentText
import TestTraits

@Suite("Office documents", .blocking)
struct OfficeDocumentTests {
    @Test("docx: paragraphs become lines, runs join, tabs and breaks are kept, tables become tab-separated rows")
    func wordDocument() throws {
        let body = OOXMLFixtures.paragraph("Quarterly ", "report") +
            "<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>" +
            "<w:r><w:t>Name</w:t></w:r><w:r><w:tab/><w:t>Value</w:t><w:br/><w:t>next line</w:t></w:r></w:p>" +
            "<w:tbl><w:tr><w:tc>\(OOXMLFixtures.paragraph("Region"))</w:tc><w:tc>\(OOXMLFixtures.paragraph("Sales"))</w:tc></w:tr>" +
            "<w:tr><w:tc>\(OOXMLFixtures.paragraph("North"))\(OOXMLFixtures.paragraph("and East"))</w:tc><w:tc>\(OOXMLFixtures.paragraph("42 &amp; more"))</w:tc></w:tr></w:tbl>" +
            OOXMLFixtures.paragraph("Closing words.")
        let result = try Fixtures.extract(OOXMLFixtures.docx(body: body), name: "report.docx")
        #expect(result.format == .docx)
        #expect(result.text == "Quarterly report\nName\tValue\nnext line\nRegion\tSales\nNorth and East\t42 & more\n\nClosing words.")
    }

    @Test("docx: text-box fallbacks, deleted text and field codes are not duplicated into the text")
    func wordAlternateContent() throws {
        let body = "<w:p><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:t>Box text</w:t></mc:Choice>" +
            "<mc:Fallback><w:t>Box text</w:t></mc:Fallback></mc:AlternateContent></w:r>" +
            "<w:del><w:r><w:delText>removed</w:delText></w:r></w:del>" +
            "<w:r><w:instrText> PAGE </w:instrText></w:r><w:r><w:t>kept</w:t></w:r></w:p>"
        let result = try Fixtures.extract(OOXMLFixtures.docx(body: body), name: "box.docx")
        #expect(result.text == "Box textkept")
    }

    @Test("the format comes from the archive's contents, not from the declared name")
    func formatFromContents() throws {
        let bytes = try OOXMLFixtures.docx(body: OOXMLFixtures.paragraph("Hello"))
        let result = try Fixtures.extract(bytes, name: "upload.bin", contentType: "application/octet-stream")
        #expect(result.format == .docx)
        #expect(result.text == "Hello")
    }

    @Test("pptx: slides in presentation order, paragraphs as lines, a blank line between slides")
    func presentation() throws {
        let bytes = try OOXMLFixtures.pptx(
            slides: [["Second in the show", "more"], ["Title of the deck", "Subtitle &lt;draft&gt;"]],
            order: [1, 0]
        )
        let result = try Fixtures.extract(bytes, name: "deck.pptx")
        #expect(result.format == .pptx)
        #expect(result.pageCount == 2)
        #expect(result.text == "Title of the deck\nSubtitle <draft>\n\nSecond in the show\nmore")
    }

    @Test("pptx without a slide list: slides in numeric order, slide10 after slide2")
    func presentationNumericOrder() throws {
        var members: [(String, String)] = []
        for number in [10, 2, 1] {
            members.append(("ppt/slides/slide\(number).xml", """
            <p:sld xmlns:a="\(OOXMLFixtures.drawingNamespace)" xmlns:p="\(OOXMLFixtures.presentationNamespace)">\
            <p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>slide \(number)</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>
            """))
        }
        let result = try Fixtures.extract(Fixtures.zip(members), name: "deck.pptx")
        #expect(result.text == "slide 1\n\nslide 2\n\nslide 10")
    }

    @Test("xlsx: sheet names as headers, one row per line, cells tab-separated at their columns")
    func workbook() throws {
        let first = "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c></row>" +
            "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>Widget</t></is></c><c r=\"C2\"><v>3.5</v></c></row>" +
            "<row r=\"4\"><c r=\"A4\" t=\"b\"><v>1</v></c><c r=\"B4\" t=\"str\"><f>A1</f><v>formula text</v></c></row>"
        let second = "<row r=\"1\"><c r=\"B1\" t=\"s\"><v>2</v></c></row><row r=\"2\"></row>"
        let bytes = try OOXMLFixtures.xlsx(sheets: [("Prices", first), ("Notes", second)], sharedStrings: ["Item", "Price", "Ünïcode &amp; more"])
        let result = try Fixtures.extract(bytes, name: "book.xlsx")
        #expect(result.format == .xlsx)
        #expect(result.sheetCount == 2)
        #expect(result.text == "Prices\nItem\tPrice\nWidget\t\t3.5\nTRUE\tformula text\n\nNotes\n\tÜnïcode & more")
    }

    @Test("a ZIP archive that is no Office document is an unsupported type")
    func plainZip() throws {
        let bytes = try Fixtures.zip([("notes/readme.txt", "hello")])
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "archive.zip") }
        #expect(error?.code == .unsupportedType)
    }

    @Test("malformed XML inside a docx is a corrupt file naming the part")
    func malformedXML() throws {
        let bytes = try Fixtures.zip([("word/document.xml", "<w:document xmlns:w=\"\(OOXMLFixtures.wordNamespace)\"><w:body><w:p>")])
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "broken.docx") }
        #expect(error?.code == .corruptFile)
        #expect(error?.message.contains("word/document.xml") == true)
    }

    @Test("a part with a DTD is refused before parsing (no entity expansion)")
    func documentTypeDeclaration() throws {
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>" +
            "<w:document xmlns:w=\"\(OOXMLFixtures.wordNamespace)\"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>"
        let error = Fixtures.extractionError { try Fixtures.extract(Fixtures.zip([("word/document.xml", xml)]), name: "dtd.docx") }
        #expect(error?.code == .corruptFile)
        #expect(error?.message.contains("DTD") == true)
    }

    @Test("text longer than the configured limit is refused as too large")
    func textLimit() throws {
        let bytes = try OOXMLFixtures.docx(body: String(repeating: OOXMLFixtures.paragraph("twenty characters!!"), count: 10))
        let error = Fixtures.extractionError {
            try Fixtures.extract(bytes, name: "long.docx", configuration: .init(maxTextCharacters: 100))
        }
        #expect(error?.code == .tooLarge)
        #expect(try Fixtures.extract(bytes, name: "long.docx", configuration: .init(maxTextCharacters: 1000)).text.count == 199)
    }
}
