@testable import DockerEngine
import Foundation
import Testing
import TestTraits

@Suite("tar writer", .blocking)
struct TarWriterTests {
    /// Runs `tar` with `arguments` on `archive` and returns its stdout.
    private func tar(_ arguments: [String], archive: [UInt8], in directory: String? = nil) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("persona-tar-\(UUID().uuidString).tar").path
        try Data(archive).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        process.arguments = arguments + ["-f", path] + (directory.map { ["-C", $0] } ?? [])
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "tar \(arguments): \(String(decoding: errors, as: UTF8.self))")
        return String(decoding: output, as: UTF8.self)
    }

    @Test("GNU tar lists every entry, in order, including long ustar and PAX names")
    func listsEntries() throws {
        let ustarLong = String(repeating: "d", count: 120) + "/" + String(repeating: "f", count: 90)
        let paxLong = String(repeating: "x", count: 300) + ".txt"
        let unsplittable = String(repeating: "n", count: 101)
        var writer = Docker.TarWriter()
        try writer.addDirectory("dir")
        try writer.addFile("dir/a.txt", text: "a")
        try writer.addFile(ustarLong, text: "ustar")
        try writer.addFile(paxLong, text: "pax")
        try writer.addFile(unsplittable, text: "no slash")
        try writer.addSymlink("link", target: "dir/a.txt")
        let listing = try tar(["-t"], archive: writer.finish())
        #expect(listing.split(separator: "\n").map(String.init) == ["dir/", "dir/a.txt", ustarLong, paxLong, unsplittable, "link"])
    }

    @Test("extracting the archive gives back the same bytes, modes and link targets")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("persona-untar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = (0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let longName = "deep/" + String(repeating: "p", count: 200) + "/file.bin"
        var writer = Docker.TarWriter()
        try writer.addFile("script.sh", text: "#!/bin/sh\necho hi\n", mode: 0o755)
        try writer.addFile(longName, contents: binary)
        try writer.addFile("empty", contents: [])
        try writer.addSymlink("alias", target: "script.sh")
        _ = try tar(["-x"], archive: writer.finish(), in: directory)
        let manager = FileManager.default
        #expect(manager.contents(atPath: "\(directory)/script.sh") == Data("#!/bin/sh\necho hi\n".utf8))
        #expect(try manager.attributesOfItem(atPath: "\(directory)/script.sh")[.posixPermissions] as? Int == 0o755)
        #expect(manager.contents(atPath: "\(directory)/\(longName)") == Data(binary))
        #expect(manager.contents(atPath: "\(directory)/empty") == Data())
        #expect(try manager.destinationOfSymbolicLink(atPath: "\(directory)/alias") == "script.sh")
    }

    @Test("the archive is whole 512-byte blocks, ends with two zero blocks, and is reproducible")
    func layout() throws {
        var first = Docker.TarWriter()
        try first.addFile("Dockerfile", text: "FROM scratch\n")
        var second = Docker.TarWriter()
        try second.addFile("Dockerfile", text: "FROM scratch\n")
        let bytes = first.finish()
        #expect(bytes.count == 512 + 512 + 1024)
        #expect(bytes.suffix(1024).allSatisfy { $0 == 0 })
        #expect(bytes == second.finish())
    }

    @Test("paths that are absolute or climb out with .. are refused")
    func refusesEscapes() {
        var writer = Docker.TarWriter()
        #expect(throws: DockerError.self) { try writer.addFile("/etc/passwd", text: "") }
        #expect(throws: DockerError.self) { try writer.addFile("a/../../b", text: "") }
        #expect(throws: DockerError.self) { try writer.addFile("", text: "") }
    }

    @Test("ustar splits a long path at the last slash that fits, and PAX records count their own length")
    func helpers() {
        let path = String(repeating: "a", count: 150) + "/" + String(repeating: "b", count: 99)
        let split = Docker.TarWriter.splitUstarPath(path)
        #expect(split?.prefix.count == 150)
        #expect(split?.name.count == 99)
        #expect(Docker.TarWriter.splitUstarPath(String(repeating: "c", count: 101)) == nil)
        for count in 0..<1200 {
            let record = Docker.TarWriter.paxRecord(key: "path", value: String(repeating: "z", count: count))
            let declared = Int(record.prefix { $0 != " " })
            #expect(declared == record.utf8.count, "value of \(count) bytes")
        }
        #expect(Docker.TarWriter.paxRecord(key: "path", value: "a") == "9 path=a\n")
    }
}
