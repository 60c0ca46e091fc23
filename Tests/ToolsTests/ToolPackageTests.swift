import Foundation
import PersonaKit
import Testing
@testable import Tools

/// Uploaded tool packages: archives made by Python's own `tarfile`/`zipfile` (what people pack
/// with), good ones read and installed, every kind of hostile or broken one refused with a
/// clear message before anything is written.
@Suite("Tool packages")
struct ToolPackageTests {
    static let manifest = #"{"name": "word_count", "version": "1.2.0", "description": "Counts words", "category": "text", "command": ["run"], "inputSchema": {"type": "object"}}"#

    /// Runs a Python script that writes an archive to stdout (`out`); `tar`/`zipfile`/`io` are imported.
    static func archive(_ body: String) throws -> [UInt8] {
        let script = """
            import io, sys, tarfile, zipfile, time
            MANIFEST = b'''\(manifest)'''
            def add(t, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name); info.size = len(data); info.mode = mode; info.type = kind; info.linkname = link
                info.mtime = time.time()
                t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
            out = io.BytesIO()
            \(body.split(separator: "\n").joined(separator: "\n"))
            sys.stdout.buffer.write(out.getvalue())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 failed for: \(body)")
        return Array(data)
    }

    static func tarGz(_ entries: String) throws -> [UInt8] {
        try archive("with tarfile.open(fileobj=out, mode='w:gz') as t:\n" + entries.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    }

    static func refusal(_ bytes: [UInt8], limits: ToolPackage.Limits = .init()) -> APIError? {
        do {
            _ = try ToolPackage.read(bytes, limits: limits)
            return nil
        } catch let error as APIError {
            return error
        } catch {
            Issue.record("not an APIError: \(error)")
            return nil
        }
    }

    @Test("a .tar.gz packed from its folder and a .zip are read: manifest, files, the executable bit; install writes 0755/0644 files and in-package links")
    func goodPackages() throws {
        let tar = try Self.tarGz("""
            add(t, "word_count/", kind=tarfile.DIRTYPE, mode=0o755)
            add(t, "word_count/tool.json", MANIFEST)
            add(t, "word_count/run", b"#!/bin/sh\\necho '{}'\\n", mode=0o4775)
            add(t, "word_count/lib/helper.py", b"X = 1\\n")
            add(t, "word_count/helper.py", kind=tarfile.SYMTYPE, link="lib/helper.py")
            """)
        let package = try ToolPackage.read(tar)
        #expect(package.format == "tar.gz")
        #expect(package.manifest.name == "word_count")
        #expect(package.manifest.version == "1.2.0")
        #expect(Set(package.files.map(\.path)) == ["tool.json", "run", "lib/helper.py", "helper.py"])
        #expect(package.files.first { $0.path == "run" }?.executable == true)

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pkg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try package.install(into: root)
        var info = stat()
        #expect(stat(root + "/run", &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o755, "set-id bits and group write are dropped")
        #expect(stat(root + "/tool.json", &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o644)
        #expect((try? String(contentsOfFile: root + "/helper.py", encoding: .utf8)) == "X = 1\n")
        #expect(throws: (any Error).self) { try package.install(into: root) }  // never over an existing directory

        // GNU tar as people run it, with a name longer than a tar header holds.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gnu-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let long = String(repeating: "d", count: 120)
        try FileManager.default.createDirectory(atPath: "\(folder)/word_count/\(long)", withIntermediateDirectories: true)
        try Self.manifest.write(toFile: "\(folder)/word_count/tool.json", atomically: true, encoding: .utf8)
        try "#!/bin/sh\n".write(toFile: "\(folder)/word_count/run", atomically: true, encoding: .utf8)
        chmod("\(folder)/word_count/run", 0o755)
        try "x".write(toFile: "\(folder)/word_count/\(long)/data.txt", atomically: true, encoding: .utf8)
        let packer = Process()
        packer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        packer.arguments = ["tar", "czf", "\(folder)/p.tgz", "-C", folder, "word_count"]
        try packer.run()
        packer.waitUntilExit()
        let gnu = try ToolPackage.read(Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/p.tgz"))))
        #expect(Set(gnu.files.map(\.path)) == ["tool.json", "run", long, "\(long)/data.txt"])
        #expect(gnu.files.first { $0.path == "run" }?.executable == true)

        let zip = try Self.archive("""
            with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr("tool.json", MANIFEST)
                i = zipfile.ZipInfo("run"); i.external_attr = (0o100755 << 16); i.create_system = 3
                z.writestr(i, b"#!/bin/sh\\necho '{}'\\n")
            """)
        let fromZip = try ToolPackage.read(zip)
        #expect(fromZip.format == "zip")
        #expect(fromZip.files.first { $0.path == "run" }?.executable == true)
    }

    @Test("hostile and broken packages are refused with a message naming the problem", arguments: [
        ("not an archive", "print", "not a .tar.gz"),
        ("a path that leaves the package", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "../evil", b"x")"#, "leaves the package"),
        ("an absolute path", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "/etc/cron.d/x", b"x")"#, "absolute path"),
        ("a link out of the package", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "l", kind=tarfile.SYMTYPE, link="../../etc/passwd")"#, "links out of the package"),
        ("an absolute link", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "l", kind=tarfile.SYMTYPE, link="/etc")"#, "absolute path"),
        ("a file under a link", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "d", kind=tarfile.SYMTYPE, link="lib")\#nadd(t, "d/x", b"x")"#, "stored under the link"),
        ("a hard link", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "h", kind=tarfile.LNKTYPE, link="run")"#, "hard link"),
        ("a device", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "null", kind=tarfile.CHRTYPE)"#, "special file"),
        ("no tool.json", #"add(t, "run", b"x", mode=0o755)"#, "no tool.json"),
        ("tool.json that is not JSON", #"add(t, "tool.json", b"{name: broken")\#nadd(t, "run", b"x", mode=0o755)"#, "not JSON"),
        ("a manifest without a description", #"add(t, "tool.json", b'{"name": "x", "command": ["run"]}')\#nadd(t, "run", b"x", mode=0o755)"#, "description is missing"),
        ("a command that is not executable", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o644)"#, "not executable"),
        ("a command that is missing", #"add(t, "tool.json", MANIFEST)"#, "not in the package"),
        ("a built-in claim", #"add(t, "tool.json", MANIFEST.replace(b'"command"', b'"builtin": true, "command"'))\#nadd(t, "run", b"x", mode=0o755)"#, "cannot be builtin"),
        ("a bad version", #"add(t, "tool.json", MANIFEST.replace(b"1.2.0", b"latest"))\#nadd(t, "run", b"x", mode=0o755)"#, "semantic version"),
        ("a path twice", #"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nadd(t, "run", b"y", mode=0o755)"#, "appears twice"),
    ])
    func refusals(what: String, entries: String, message: String) throws {
        let bytes = entries == "print" ? Array("just text, not an archive".utf8) : try Self.tarGz(entries)
        let error = try #require(Self.refusal(bytes), "\(what) was accepted")
        #expect(error.status == .unprocessableContent, "\(what): \(error)")
        #expect(error.code == "package_invalid")
        #expect(error.message.contains(message), "\(what): \(error.message)")
    }

    @Test("a zip bomb, a gzip bomb and a package over the size limit are refused as too large")
    func bombs() throws {
        // 40 MB of zeros inflate from ~40 KB: far past the 100:1 ratio.
        let zipBomb = try Self.archive("""
            with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr("tool.json", MANIFEST)
                z.writestr("zeros", b"\\0" * (40 << 20))
            """)
        #expect(zipBomb.count < 1 << 20)
        let zipError = try #require(Self.refusal(zipBomb))
        #expect(zipError.status == .contentTooLarge)
        #expect(zipError.code == "package_too_large")
        #expect(zipError.message.contains("zip bomb"), "\(zipError.message)")

        let gzipBomb = try Self.tarGz(#"add(t, "tool.json", MANIFEST)\#nadd(t, "zeros", b"\0" * (40 << 20))"#)
        let gzipError = try #require(Self.refusal(gzipBomb))
        #expect(gzipError.code == "package_too_large")
        #expect(gzipError.message.contains("zip bomb"), "\(gzipError.message)")

        let big = try Self.tarGz(#"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nimport os\#nadd(t, "noise", os.urandom(300_000))"#)
        let tooBig = try #require(Self.refusal(big, limits: ToolPackage.Limits(maxPackageBytes: 100_000)))
        #expect(tooBig.code == "package_too_large")

        var few = ToolPackage.Limits()
        few.maxEntries = 3
        let many = try Self.tarGz(#"add(t, "tool.json", MANIFEST)\#nadd(t, "run", b"x", mode=0o755)\#nfor i in range(5): add(t, f"f{i}", b"x")"#)
        #expect(Self.refusal(many, limits: few)?.code == "package_too_large")
    }
}
