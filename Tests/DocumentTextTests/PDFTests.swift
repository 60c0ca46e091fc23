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
            try Self.writeExecutable(script.path, "#!/bin/sh\nexec sleep 30\n")
            let started = ContinuousClock.now
            let error = Fixtures.extractionError {
                try Fixtures.extract(Self.pdf(pages: ["x"]), name: "a.pdf",
                                     configuration: .init(pdftotextPath: script.path, pdfTimeout: .milliseconds(300)))
            }
            #expect(error?.code == .extractionFailed)
            #expect(ContinuousClock.now - started < .seconds(20), "the child must be killed, not waited for")
        }
    }

    @Test("a pdftotext still open for writing (text file busy) is retried, not reported missing")
    func busyExecutable() throws {
        try Fixtures.withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("busy-pdftotext").path
            // Held open for writing, as by a concurrent fork that inherited the descriptor:
            // exec fails with ETXTBSY until it is closed.
            let writer = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
            try #require(writer >= 0)
            let script = "#!/bin/sh\nprintf 'from the busy tool' > \"$6\"\n"
            #expect(script.withCString { write(writer, $0, strlen($0)) } == script.utf8.count)
            let closer = Thread { usleep(150_000); close(writer) }
            closer.start()
            let text = try Fixtures.extract(Self.pdf(pages: ["x"]), name: "a.pdf", configuration: .init(pdftotextPath: path))
            #expect(text.text == "from the busy tool")
        }
    }

    /// Writes an executable through a close-on-exec descriptor, so no child another test
    /// forks meanwhile keeps it open for writing (which would make exec fail with ETXTBSY).
    static func writeExecutable(_ path: String, _ contents: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        let written = contents.withCString { write(descriptor, $0, strlen($0)) }
        guard written == contents.utf8.count else { throw POSIXError(.EIO) }
    }
}
