import Foundation
import Testing
@testable import DocumentText
import TestTraits

@Suite("PDF", .blocking)
struct PDFTests {
    /// A valid PDF with one page per string (Helvetica text), its xref offsets computed.
    static func pdf(pages: [String]) -> [UInt8] {
        var objects: [String] = ["<< /Type /Catalog /Pages 2 0 R >>"]
        let kids = pages.indices.map { "\(4 + 2 * $0) 0 R" }.joined(separator: " ")
        objects.append("<< /Type /Pages /Kids [\(kids)] /Count \(pages.count) >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        for (index, text) in pages.enumerated() {
            objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents \(5 + 2 * index) 0 R >>")
            let content = "BT /F1 18 Tf 72 700 Td (\(text)) Tj ET"
            objects.append("<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream")
        }
        var output = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(output.utf8.count)
            output += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = output.utf8.count
        output += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { output += String(repeating: "0", count: 10 - String(offset).count) + "\(offset) 00000 n \n" }
        output += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(output.utf8)
    }

    @Test("pdftotext extracts every page; pages become paragraphs and are counted")
    func extractsPages() throws {
        let result = try Fixtures.extract(Self.pdf(pages: ["Hello from page one.", "Second page text."]), name: "scan.pdf")
        #expect(result.format == .pdf)
        #expect(result.pageCount == 2)
        #expect(result.text == "Hello from page one.\n\nSecond page text.")
    }

    @Test("a PDF is recognised by its magic bytes whatever its name")
    func magicBytes() throws {
        let result = try Fixtures.extract(Self.pdf(pages: ["Named as text."]), name: "notes.txt", contentType: "text/plain")
        #expect(result.format == .pdf)
        #expect(result.text == "Named as text.")
    }

    @Test("a corrupt PDF is refused with pdftotext's complaint and without server paths")
    func corrupt() throws {
        let bytes = Array("%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without xref".utf8)
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "broken.pdf") }
        #expect(error?.code == .corruptFile)
        #expect(error?.message.contains("PDF") == true)
        #expect(error?.message.contains(FileManager.default.temporaryDirectory.path) == false)
    }

    @Test("a file named .pdf without the PDF header is a corrupt file")
    func notPDF() throws {
        let error = Fixtures.extractionError { try Fixtures.extract("hello", name: "fake.pdf") }
        #expect(error?.code == .corruptFile)
    }

    @Test("a missing pdftotext is reported as tool_missing naming poppler-utils")
    func missingTool() throws {
        let error = Fixtures.extractionError {
            try Fixtures.extract(Self.pdf(pages: ["x"]), name: "a.pdf", configuration: .init(pdftotextPath: "/nonexistent/pdftotext"))
        }
        #expect(error?.code == .toolMissing)
        #expect(error?.message.contains("poppler-utils") == true)
    }

    @Test("a pdftotext that outlives the time-out is killed and the extraction fails")
    func timeout() throws {
        try Fixtures.withTemporaryDirectory { directory in
            let script = directory.appendingPathComponent("slow-pdftotext")
            try "#!/bin/sh\nexec sleep 30\n".write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
            let started = ContinuousClock.now
            let error = Fixtures.extractionError {
                try Fixtures.extract(Self.pdf(pages: ["x"]), name: "a.pdf",
                                     configuration: .init(pdftotextPath: script.path, pdfTimeout: .milliseconds(300)))
            }
            #expect(error?.code == .extractionFailed)
            #expect(ContinuousClock.now - started < .seconds(20), "the child must be killed, not waited for")
        }
    }
}
