/// Minimal, valid Office Open XML packages: content types, package relationships and the
/// parts the extractor reads.
enum OOXMLFixtures {
    static let wordNamespace = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    static let drawingNamespace = "http://schemas.openxmlformats.org/drawingml/2006/main"
    static let presentationNamespace = "http://schemas.openxmlformats.org/presentationml/2006/main"
    static let sheetNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationshipNamespace = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    static func contentTypes(_ overrides: [(String, String)]) -> String {
        let parts = overrides.map { "<Override PartName=\"/\($0.0)\" ContentType=\"\($0.1)\"/>" }.joined()
        return """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
        <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
        <Default Extension="xml" ContentType="application/xml"/>\(parts)</Types>
        """
    }

    static func relationships(_ targets: [(id: String, type: String, target: String)]) -> String {
        let items = targets.map {
            "<Relationship Id=\"\($0.id)\" Type=\"\(relationshipNamespace)/\($0.type)\" Target=\"\($0.target)\"/>"
        }.joined()
        return """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\(items)</Relationships>
        """
    }

    /// A .docx whose body is `body` (WordprocessingML inside `<w:body>`).
    static func docx(body: String) throws -> [UInt8] {
        let document = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <w:document xmlns:w="\(wordNamespace)" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">\
        <w:body>\(body)</w:body></w:document>
        """
        return try Fixtures.zip([
            ("[Content_Types].xml", contentTypes([("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")])),
            ("_rels/.rels", relationships([("rId1", "officeDocument", "word/document.xml")])),
            ("word/document.xml", document),
        ])
    }

    /// A paragraph of runs.
    static func paragraph(_ runs: String...) -> String {
        "<w:p>" + runs.map { "<w:r><w:t xml:space=\"preserve\">\($0)</w:t></w:r>" }.joined() + "</w:p>"
    }

    /// A .pptx with `slides` (each a list of paragraphs), listed in presentation.xml in
    /// `order` (indices into `slides`, default: as given).
    static func pptx(slides: [[String]], order: [Int]? = nil) throws -> [UInt8] {
        var members: [(String, String)] = []
        var slideIds = ""
        var presentationRels: [(id: String, type: String, target: String)] = []
        for index in order ?? Array(slides.indices) {
            slideIds += "<p:sldId id=\"\(256 + index)\" r:id=\"rId\(index + 1)\"/>"
        }
        for (index, paragraphs) in slides.enumerated() {
            presentationRels.append(("rId\(index + 1)", "slide", "slides/slide\(index + 1).xml"))
            let text = paragraphs.map { "<a:p><a:r><a:t>\($0)</a:t></a:r></a:p>" }.joined()
            members.append(("ppt/slides/slide\(index + 1).xml", """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <p:sld xmlns:a="\(drawingNamespace)" xmlns:p="\(presentationNamespace)" xmlns:r="\(relationshipNamespace)">\
            <p:cSld><p:spTree><p:sp><p:txBody><a:bodyPr/>\(text)</p:txBody></p:sp></p:spTree></p:cSld></p:sld>
            """))
        }
        members.append(("ppt/presentation.xml", """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <p:presentation xmlns:p="\(presentationNamespace)" xmlns:r="\(relationshipNamespace)"><p:sldIdLst>\(slideIds)</p:sldIdLst></p:presentation>
        """))
        members.append(("ppt/_rels/presentation.xml.rels", relationships(presentationRels)))
        members.append(("_rels/.rels", relationships([("rId1", "officeDocument", "ppt/presentation.xml")])))
        members.append(("[Content_Types].xml", contentTypes([("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml")])))
        return try Fixtures.zip(members)
    }

    /// A .xlsx with named sheets of `<row>` XML and a shared-strings table.
    static func xlsx(sheets: [(name: String, rows: String)], sharedStrings: [String]) throws -> [UInt8] {
        var members: [(String, String)] = [("[Content_Types].xml", contentTypes([("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")]))]
        members.append(("_rels/.rels", relationships([("rId1", "officeDocument", "xl/workbook.xml")])))
        var sheetList = ""
        var workbookRels: [(id: String, type: String, target: String)] = []
        for (index, sheet) in sheets.enumerated() {
            sheetList += "<sheet name=\"\(sheet.name)\" sheetId=\"\(index + 1)\" r:id=\"rId\(index + 1)\"/>"
            workbookRels.append(("rId\(index + 1)", "worksheet", "worksheets/sheet\(index + 1).xml"))
            members.append(("xl/worksheets/sheet\(index + 1).xml", """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="\(sheetNamespace)"><sheetData>\(sheet.rows)</sheetData></worksheet>
            """))
        }
        workbookRels.append(("rId100", "sharedStrings", "sharedStrings.xml"))
        members.append(("xl/workbook.xml", """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <workbook xmlns="\(sheetNamespace)" xmlns:r="\(relationshipNamespace)"><sheets>\(sheetList)</sheets></workbook>
        """))
        members.append(("xl/_rels/workbook.xml.rels", relationships(workbookRels)))
        let items = sharedStrings.map { "<si><t>\($0)</t></si>" }.joined()
        members.append(("xl/sharedStrings.xml", """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <sst xmlns="\(sheetNamespace)" count="\(sharedStrings.count)" uniqueCount="\(sharedStrings.count)">\(items)</sst>
        """))
        return try Fixtures.zip(members)
    }
}
