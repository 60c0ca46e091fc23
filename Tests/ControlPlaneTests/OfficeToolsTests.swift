import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

/// The office tools (tools/office_runtime, generate_presentation, generate_spreadsheet,
/// generate_document) in a real container of the persona image: called through the API, their
/// artifacts downloaded through the API, the files read back with the same Python libraries in
/// the container, and rendered on the host by LibreOffice (headless) into PDF text and PNG
/// pages. `scripts/test` starts the engine, builds the image and installs LibreOffice and
/// poppler-utils; without any of them these tests fail, never skip.
@Suite("Office tools", .serialized)
struct OfficeToolsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = "/opt/persona/office/venv/bin/python3"

    /// Runs a Python script with the image's office venv through the `shell` tool; its stdout as JSON.
    static func inspect(_ api: APIClient, _ token: String, _ id: String, _ script: String,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let run = try await ContainerTests.invoke(api, token, id, "shell", ["arguments": ["command": .string("\(python) -B -"), "stdin": .string(script)]],
                                                  sourceLocation: sourceLocation)
        #expect(run.data?["status"] == "succeeded", "\(run.body)", sourceLocation: sourceLocation)
        let stdout = run.data?["output"]?["stdout"]?.stringValue ?? ""
        return try JSONDecoder().decode(JSONValue.self, from: Data(stdout.utf8))
    }

    /// Invokes a generator, checks the run and its one artifact, downloads the artifact through
    /// the API and returns the run's output and the downloaded bytes.
    static func generate(_ api: APIClient, _ token: String, _ id: String, _ tool: String, _ arguments: JSONValue,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws -> (output: JSONValue, bytes: [UInt8]) {
        let run = try await ContainerTests.invoke(api, token, id, tool, ["arguments": arguments], sourceLocation: sourceLocation)
        #expect(run.status == .ok && run.data?["status"] == "succeeded", "\(run.body)", sourceLocation: sourceLocation)
        let output = try #require(run.data?["output"], sourceLocation: sourceLocation)
        let artifacts = run.data?["artifacts"]?.arrayValue ?? []
        #expect(artifacts.count == 1, "\(run.body)", sourceLocation: sourceLocation)
        let runId = try #require(run.data?["id"]?.stringValue, sourceLocation: sourceLocation)
        let download = try await api.get("/api/personas/\(id)/tool-runs/\(runId)/artifacts/0", token: token)
        #expect(download.status == .ok, sourceLocation: sourceLocation)
        #expect(download.bytes.count == output["bytes"]?.intValue, "the artifact is the file: \(download.bytes.count) bytes", sourceLocation: sourceLocation)
        #expect(download.bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]), "a zip package", sourceLocation: sourceLocation)
        return (output, download.bytes)
    }

    /// name -> version pinned in images/persona/requirements-office.txt.
    static func pins() throws -> [String: String] {
        let text = try String(contentsOf: repository.appendingPathComponent("images/persona/requirements-office.txt"), encoding: .utf8)
        var pins: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("==") {
            let parts = line.split(separator: "=", omittingEmptySubsequences: true)
            pins[Self.normalized(String(parts[0]))] = String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        return pins
    }

    static func normalized(_ name: String) -> String {
        name.lowercased().replacing("_", with: "-").trimmingCharacters(in: .whitespaces)
    }

    static let presentation: JSONValue = [
        "path": "reports/q3-review.pptx",
        "slides": [
            ["layout": "title", "title": "Quarterly Review Q3", "subtitle": "Prepared by Persona", "notes": "Welcome everyone and thank the team."],
            ["layout": "bullets", "title": "Highlights",
             "bullets": ["Revenue grew 12 percent", ["text": "North region led the growth", "level": 1], "Churn fell to 2 percent"],
             "notes": "Mention the north team."],
            ["layout": "table", "title": "Revenue by region",
             "table": ["columns": ["Region", "Q2", "Q3"], "rows": [["North", 10, 20], ["South", 15, 18], ["West", 7, 22]]]],
            ["layout": "image", "title": "Growth chart", "image": ["path": "assets/chart.png", "caption": "Revenue trend"]],
            ["layout": "section", "title": "Next steps", "subtitle": "Plans for Q4"],
        ],
    ]

    static let spreadsheet: JSONValue = [
        "path": "reports/sales.xlsx",
        "sheets": [
            ["name": "Sales",
             "rows": [["Region", "Units", "Price", "Revenue", "Shipped", "Active"],
                      ["North", 10, 2.5, "=B2*C2", "2024-03-31", true],
                      ["South", 20, 3, "=B3*C3", "2024-04-15", false],
                      ["West", 30, 1.25, "=B4*C4", ["value": "2024-05-01T14:30:00", "type": "datetime"], true],
                      [["value": "Total", "bold": true], "=SUM(B2:B4)", nil, ["value": "=SUM(D2:D4)", "bold": true]]],
             "numberFormats": ["C": "0.00", "D": "#,##0.00"],
             "charts": [["type": "column", "title": "Units by region", "data": "B1:B4", "categories": "A2:A4", "anchor": "H2"],
                        ["type": "line", "title": "Revenue trend", "data": "D1:D4", "categories": "A2:A4", "anchor": "H20"]]],
            ["name": "Summary", "headerRow": false,
             "rows": [["Units sold", "=SUM(Sales!B2:B4)"], ["Average price", "=AVERAGE(Sales!C2:C4)"],
                      ["Literal", ["value": "=not a formula", "type": "string"]]]],
        ],
    ]

    static let document: JSONValue = [
        "path": "reports/field-report.docx", "title": "Field report",
        "blocks": [
            ["type": "heading", "text": "Summary", "level": 1],
            ["type": "paragraph", "text": "The quarter closed with growth in every region."],
            ["type": "bullets", "items": ["First point", ["text": "Nested point", "level": 1], "Second point"]],
            ["type": "numbered", "items": ["Alpha step", "Beta step"]],
            ["type": "numbered", "items": ["Gamma restarts", "Delta follows"]],
            ["type": "table", "table": ["columns": ["Region", "Units"], "rows": [["North", 10], ["South", 20], ["West", 30]], "caption": "Units by region"]],
            ["type": "pageBreak"],
            ["type": "heading", "text": "Appendix", "level": 2],
            ["type": "image", "image": ["path": "assets/chart.png", "widthInches": 4, "caption": "The growth chart"]],
            ["type": "paragraph", "text": "End of report.", "italic": true],
        ],
    ]

    /// A 640x360 violet PNG with an orange square, drawn by Pillow in the container.
    static let drawChart = """
        import json, os
        from PIL import Image, ImageDraw
        os.makedirs("assets", exist_ok=True)
        image = Image.new("RGB", (640, 360), (126, 93, 255))
        ImageDraw.Draw(image).rectangle([40, 40, 300, 300], fill=(255, 167, 38))
        image.save("assets/chart.png")
        print(json.dumps({"bytes": os.path.getsize("assets/chart.png")}))
        """

    static let readPresentation = """
        import json
        from pptx import Presentation
        deck = Presentation("reports/q3-review.pptx")
        slides = []
        for slide in deck.slides:
            texts = [p.text for shape in slide.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs if p.text]
            cells = [[cell.text for cell in row.cells] for shape in slide.shapes if shape.has_table for row in shape.table.rows]
            pictures = sum(1 for shape in slide.shapes if shape.shape_type == 13)
            notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
            background = str(slide.background.fill.fore_color.rgb)
            slides.append({"texts": texts, "cells": cells, "pictures": pictures, "notes": notes, "background": background})
        print(json.dumps({"slides": slides, "width": deck.slide_width, "height": deck.slide_height}))
        """

    static let readSpreadsheet = """
        import datetime, json
        from openpyxl import load_workbook
        book = load_workbook("reports/sales.xlsx")
        sales, summary = book["Sales"], book["Summary"]
        def kind(cell):
            return {"value": cell.value if not isinstance(cell.value, (datetime.date, datetime.datetime)) else cell.value.isoformat(),
                    "type": cell.data_type, "format": cell.number_format}
        print(json.dumps({
            "sheets": book.sheetnames,
            "cells": {name: kind(sales[name]) for name in ["A1", "B2", "C2", "D2", "E2", "E4", "F2", "F3", "B5", "D5"]},
            "summary": {name: kind(summary[name]) for name in ["B1", "B2", "B3"]},
            "frozen": sales.freeze_panes, "summaryFrozen": summary.freeze_panes,
            "charts": len(sales._charts), "headerBold": sales["A1"].font.b, "headerFill": sales["A1"].fill.fgColor.rgb,
        }))
        """

    static let readDocument = """
        import json
        import docx
        from docx.oxml.ns import qn
        document = docx.Document("reports/field-report.docx")
        paragraphs = [{"text": p.text, "style": p.style.name,
                       "numId": p._p.pPr.numPr.numId.val if p._p.pPr is not None and p._p.pPr.numPr is not None else None}
                      for p in document.paragraphs]
        breaks = len(document.element.body.findall(".//" + qn("w:br")))
        tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
        print(json.dumps({"paragraphs": paragraphs, "tables": tables, "images": len(document.inline_shapes), "breaks": breaks,
                          "title": document.core_properties.title}))
        """

    @Test("office_runtime reports the pinned libraries; each generator writes its file and artifact; the files read back with the same libraries and render in LibreOffice")
    func generateAndRender() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite) { api, services in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin, name: "Office")
            _ = try await ContainerTests.start(api, admin, id)
            let tools = try await api.get("/api/personas/\(id)/tools", token: admin).data?.arrayValue ?? []
            for name in ["office_runtime", "generate_presentation", "generate_spreadsheet", "generate_document"] {
                #expect(tools.contains { $0["name"]?.stringValue == name && $0["enabled"] == true }, "\(name) registered and on")
            }

            // The runtime: every pinned library at its pinned version, in the image's venv.
            let runtime = try await ContainerTests.invoke(api, admin, id, "office_runtime", ["arguments": [:]])
            #expect(runtime.data?["status"] == "succeeded", "\(runtime.body)")
            let reported = runtime.data?["output"]?["libraries"]?.objectValue ?? [:]
            let pins = try Self.pins()
            #expect(pins.count >= 8, "\(pins)")
            for (name, version) in pins {
                #expect(reported.first { Self.normalized($0.key) == name }?.value.stringValue == version, "\(name)==\(version) in \(reported)")
            }
            #expect(runtime.data?["output"]?["python"]?.stringValue?.hasPrefix("3.11.") == true, "\(runtime.body)")
            #expect(runtime.data?["output"]?["prefix"] == "/opt/persona/office/venv")

            let chart = try await Self.inspect(api, admin, id, Self.drawChart)
            #expect((chart["bytes"]?.intValue ?? 0) > 0)

            // Presentation.
            let deck = try await Self.generate(api, admin, id, "generate_presentation", Self.presentation)
            #expect(deck.output["path"] == "reports/q3-review.pptx" && deck.output["slides"] == 5 && deck.output["notes"] == 2, "\(deck.output)")
            let workspace = services.configuration.storagePath + "/personas/\(id)/workspace"
            #expect(FileManager.default.contents(atPath: workspace + "/reports/q3-review.pptx").map { Array($0) } == deck.bytes,
                    "the workspace file and the artifact are the same bytes")
            let readDeck = try await Self.inspect(api, admin, id, Self.readPresentation)
            let slides = readDeck["slides"]?.arrayValue ?? []
            #expect(slides.count == 5)
            #expect(readDeck["width"]?.intValue == 12_192_000 && readDeck["height"]?.intValue == 6_858_000, "16:9: \(readDeck)")
            #expect(slides.first?["texts"]?.arrayValue?.contains("Quarterly Review Q3") == true, "\(readDeck)")
            #expect(slides.first?["notes"] == "Welcome everyone and thank the team.")
            #expect(slides.first?["background"] == "0B0F1E", "the persona theme's background token")
            #expect(slides[safe: 1]?["texts"]?.arrayValue?.contains("North region led the growth") == true)
            #expect(slides[safe: 1]?["notes"] == "Mention the north team.")
            #expect(slides[safe: 2]?["cells"] == [["Region", "Q2", "Q3"], ["North", "10", "20"], ["South", "15", "18"], ["West", "7", "22"]],
                    "\(slides[safe: 2] ?? .null)")
            #expect(slides[safe: 3]?["pictures"] == 1 && slides[safe: 3]?["texts"]?.arrayValue?.contains("Revenue trend") == true)

            // Spreadsheet.
            let book = try await Self.generate(api, admin, id, "generate_spreadsheet", Self.spreadsheet)
            #expect(book.output["sheets"] == 2 && book.output["charts"] == 2 && book.output["formulas"] == 7 && book.output["rows"] == 8,
                    "\(book.output)")
            let readBook = try await Self.inspect(api, admin, id, Self.readSpreadsheet)
            let cells = readBook["cells"]
            #expect(readBook["sheets"] == ["Sales", "Summary"])
            #expect(cells?["B2"]?["value"] == 10 && cells?["B2"]?["type"] == "n")
            #expect(cells?["C2"]?["value"] == 2.5 && cells?["C2"]?["format"] == "0.00")
            #expect(cells?["D2"]?["value"] == "=B2*C2" && cells?["D2"]?["type"] == "f" && cells?["D2"]?["format"] == "#,##0.00")
            #expect(cells?["E2"]?["value"] == "2024-03-31T00:00:00" && cells?["E2"]?["format"] == "yyyy-mm-dd", "\(readBook)")
            #expect(cells?["E4"]?["value"] == "2024-05-01T14:30:00")
            #expect(cells?["F2"]?["value"] == true && cells?["F3"]?["value"] == false && cells?["F2"]?["type"] == "b")
            #expect(cells?["B5"]?["value"] == "=SUM(B2:B4)")
            #expect(readBook["summary"]?["B3"]?["value"] == "=not a formula" && readBook["summary"]?["B3"]?["type"] == "s", "\(readBook)")
            #expect(readBook["frozen"] == "A2" && readBook["summaryFrozen"] == .null)
            #expect(readBook["charts"] == 2 && readBook["headerBold"] == true && readBook["headerFill"] == "007E5DFF", "\(readBook)")

            // Document.
            let report = try await Self.generate(api, admin, id, "generate_document", Self.document)
            #expect(report.output["tables"] == 1 && report.output["images"] == 1 && report.output["pageBreaks"] == 1
                    && report.output["listItems"] == 7 && report.output["headings"] == 2, "\(report.output)")
            let readReport = try await Self.inspect(api, admin, id, Self.readDocument)
            let paragraphs = readReport["paragraphs"]?.arrayValue ?? []
            func paragraph(_ text: String) -> JSONValue? { paragraphs.first { $0["text"]?.stringValue == text } }
            #expect(paragraph("Field report")?["style"] == "Title")
            #expect(paragraph("Summary")?["style"] == "Heading 1" && paragraph("Appendix")?["style"] == "Heading 2")
            #expect(paragraph("Nested point")?["style"] == "List Bullet 2")
            #expect(paragraph("Alpha step")?["style"] == "List Number")
            #expect(paragraph("Alpha step")?["numId"] == paragraph("Beta step")?["numId"])
            #expect(paragraph("Alpha step")?["numId"] != paragraph("Gamma restarts")?["numId"], "each numbered list has its own numbering")
            #expect(readReport["tables"] == [[["Region", "Units"], ["North", "10"], ["South", "20"], ["West", "30"]]])
            #expect(readReport["images"] == 1 && readReport["breaks"] == 1 && readReport["title"] == "Field report", "\(readReport)")

            // Rendered on the host by LibreOffice, from the downloaded artifacts.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("office-render-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var files: [URL] = []
            for (name, bytes) in [("q3-review.pptx", deck.bytes), ("sales.xlsx", book.bytes), ("field-report.docx", report.bytes)] {
                let file = directory.appendingPathComponent(name)
                try Data(bytes).write(to: file)
                files.append(file)
            }
            let pdfs = try await Self.renderPDFs(files, into: directory)

            let deckPages = try await Self.pages(try #require(pdfs["q3-review.pptx"]))
            #expect(deckPages.count == 5, "one page per slide: \(deckPages)")
            let expectedSlides = [["Quarterly Review Q3", "Prepared by Persona"],
                                  ["Highlights", "Revenue grew 12 percent", "North region led the growth", "Churn fell to 2 percent"],
                                  ["Revenue by region", "Region", "North", "South", "West", "22"],
                                  ["Growth chart", "Revenue trend"], ["Next steps", "Plans for Q4"]]
            for (index, texts) in expectedSlides.enumerated() {
                for text in texts {
                    #expect(deckPages[safe: index]?.contains(text) == true, "slide \(index + 1) shows \(text): \(deckPages[safe: index] ?? "-")")
                }
            }
            let titleSlide = try await Self.picture(try #require(pdfs["q3-review.pptx"]), page: 1)
            #expect(titleSlide.distinctColours() > 10, "the title slide is not blank")
            #expect(Self.has(titleSlide, 0x0B, 0x0F, 0x1E, tolerance: 6), "the dark background token is drawn")
            let imageSlide = try await Self.picture(try #require(pdfs["q3-review.pptx"]), page: 4)
            #expect(Self.has(imageSlide, 255, 167, 38) && Self.has(imageSlide, 126, 93, 255), "the embedded image is drawn")

            let sheetText = try await Self.pages(try #require(pdfs["sales.xlsx"])).joined(separator: "\n")
            let lines = sheetText.split(separator: "\n").map(String.init)
            func line(_ label: String) -> [String] {
                (lines.first { $0.contains(label) } ?? "").split(separator: " ").map(String.init)
            }
            for text in ["Region", "Units", "North", "South", "West", "2024-03-31", "2024-05-01 14:30", "TRUE", "FALSE", "Units by region",
                         "Revenue trend", "Units sold", "Average price", "=not a formula"] {
                #expect(sheetText.contains(text), "the workbook shows \(text): \(sheetText)")
            }
            #expect(line("North").contains("25.00") && line("South").contains("60.00") && line("West").contains("37.50"),
                    "=Bn*Cn computed and formatted: \(sheetText)")
            #expect(line("Total").contains("60") && line("Total").contains("122.50"), "=SUM(B2:B4) is 60, =SUM(D2:D4) 122.50: \(line("Total"))")
            #expect(line("Units sold").contains("60") && line("Average price").contains("2.25"), "cross-sheet formulas: \(sheetText)")
            let sheetPicture = try await Self.picture(try #require(pdfs["sales.xlsx"]), page: 1)
            #expect(sheetPicture.distinctColours() > 10 && Self.has(sheetPicture, 126, 93, 255), "the header and the charts are drawn")

            let reportPages = try await Self.pages(try #require(pdfs["field-report.docx"]))
            #expect(reportPages.count == 2, "the page break makes two pages: \(reportPages)")
            for text in ["Field report", "Summary", "The quarter closed with growth in every region.", "First point", "Nested point",
                         "1. Alpha step", "2. Beta step", "1. Gamma restarts", "2. Delta follows", "North", "Units by region"] {
                #expect(reportPages.first?.contains(text) == true, "page 1 shows \(text): \(reportPages.first ?? "-")")
            }
            for text in ["Appendix", "The growth chart", "End of report."] {
                #expect(reportPages[safe: 1]?.contains(text) == true, "page 2 shows \(text): \(reportPages[safe: 1] ?? "-")")
            }
            let reportPicture = try await Self.picture(try #require(pdfs["field-report.docx"]), page: 2)
            #expect(Self.has(reportPicture, 255, 167, 38), "the image is on page 2")
        }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
