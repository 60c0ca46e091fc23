import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

/// The host side of the office tools' tests: LibreOffice (headless) turns the files into PDFs,
/// poppler's pdftotext and pdftoppm into page text and PNG pages.
extension OfficeToolsTests {
    struct HostToolMissing: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a host program without blocking a thread of the cooperative pool: output goes to a
    /// file, the exit arrives through the termination handler.
    static func host(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("office-test-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = FileManager.default.temporaryDirectory.path
        process.environment = environment
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// The path of a host program, or a recorded failure naming the package that provides it.
    static func require(_ names: [String], package: String) throws -> String {
        for name in names {
            for directory in ["/usr/bin", "/usr/local/bin", "/opt/libreoffice/program"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        Issue.record("\(names[0]) is not installed: scripts/test installs \(package) (apt-get install \(package))")
        throw HostToolMissing(description: "\(names[0]) missing")
    }

    /// Converts files to PDF with LibreOffice headless, in a private profile; returns the PDFs by input name.
    static func renderPDFs(_ files: [URL], into directory: URL) async throws -> [String: URL] {
        let office = try require(["libreoffice", "soffice"], package: "libreoffice-impress-nogui libreoffice-calc-nogui libreoffice-writer-nogui")
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("office-test-profile-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let (status, output) = try await host(office, ["--headless", "--norestore", "-env:UserInstallation=file://\(profile.path)",
                                                      "--convert-to", "pdf", "--outdir", directory.path] + files.map(\.path))
        #expect(status == 0, "libreoffice: \(output)")
        var out: [String: URL] = [:]
        for file in files {
            let pdf = directory.appendingPathComponent(file.deletingPathExtension().lastPathComponent + ".pdf")
            #expect(FileManager.default.fileExists(atPath: pdf.path), "no PDF for \(file.lastPathComponent): \(output)")
            out[file.lastPathComponent] = pdf
        }
        return out
    }

    /// pdftotext -layout of every page (1-based: pages[0] is page 1).
    static func pages(_ pdf: URL) async throws -> [String] {
        let info = try require(["pdfinfo"], package: "poppler-utils")
        let text = try require(["pdftotext"], package: "poppler-utils")
        let (status, meta) = try await host(info, [pdf.path])
        #expect(status == 0, "pdfinfo: \(meta)")
        let count = meta.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? 0
        var pages: [String] = []
        for page in 0..<count {
            let out = pdf.deletingPathExtension().appendingPathExtension("p\(page + 1).txt")
            let (status, output) = try await host(text, ["-layout", "-f", "\(page + 1)", "-l", "\(page + 1)", pdf.path, out.path])
            #expect(status == 0, "pdftotext: \(output)")
            pages.append((try? String(contentsOf: out, encoding: .utf8)) ?? "")
        }
        return pages
    }

    /// One page of the PDF as a PNG (pdftoppm), decoded.
    static func picture(_ pdf: URL, page: Int) async throws -> PNGImage {
        let ppm = try require(["pdftoppm"], package: "poppler-utils")
        let prefix = pdf.deletingPathExtension().path + "-page\(page)"
        let (status, output) = try await host(ppm, ["-png", "-r", "30", "-f", "\(page)", "-l", "\(page)", "-singlefile", pdf.path, prefix])
        #expect(status == 0, "pdftoppm: \(output)")
        return try PNGImage(Array(try Data(contentsOf: URL(fileURLWithPath: prefix + ".png"))))
    }

    /// Whether some pixel is within `tolerance` of the colour on every channel.
    static func has(_ image: PNGImage, _ r: Int, _ g: Int, _ b: Int, tolerance: Int = 24) -> Bool {
        var index = 0
        while index + 2 < image.pixels.count {
            if abs(Int(image.pixels[index]) - r) <= tolerance && abs(Int(image.pixels[index + 1]) - g) <= tolerance
                && abs(Int(image.pixels[index + 2]) - b) <= tolerance { return true }
            index += image.channels
        }
        return false
    }
}
