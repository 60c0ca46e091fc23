import Foundation
import Testing
@testable import Supervisor

@Suite("Workspace path confinement")
struct WorkspaceTests {
    /// A workspace with `notes/a.txt`, a link inside (`inside -> notes`), links out
    /// (`escape -> /etc`, `sneaky -> notes/../../outside`) and a secret file next to it.
    func withWorkspace(_ body: (Workspace, String) throws -> Void) throws {
        let root = try Fixtures.temporaryDirectory("ws")
        defer { Fixtures.remove(root) }
        let ws = root + "/workspace"
        try FileManager.default.createDirectory(atPath: ws + "/notes", withIntermediateDirectories: true)
        try "hello".write(toFile: ws + "/notes/a.txt", atomically: true, encoding: .utf8)
        try "secret".write(toFile: root + "/outside", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: ws + "/inside", withDestinationPath: "notes")
        try FileManager.default.createSymbolicLink(atPath: ws + "/escape", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: ws + "/sneaky", withDestinationPath: "notes/../../outside")
        try FileManager.default.createSymbolicLink(atPath: ws + "/absolute-inside", withDestinationPath: ws + "/notes/a.txt")
        try body(Workspace(root: ws), ws)
    }

    func expectOutside(_ body: () throws -> Void) {
        #expect { try body() } throws: { error in
            (error as? SupervisorError)?.code == "path_outside_workspace" && (error as? SupervisorError)?.status == 403
        }
    }

    @Test("relative and absolute-inside paths work")
    func insidePaths() throws {
        try withWorkspace { (workspace: Workspace, root: String) throws in
            #expect(try workspace.readFile("notes/a.txt") == Array("hello".utf8))
            #expect(try workspace.readFile(root + "/notes/a.txt") == Array("hello".utf8))
            #expect(try workspace.readFile("./notes/./a.txt") == Array("hello".utf8))
        }
    }

    @Test("`..` and absolute paths outside the workspace are refused")
    func dotDotAndAbsolute() throws {
        try withWorkspace { (workspace: Workspace, root: String) throws in
            expectOutside { _ = try workspace.readFile("../outside") }
            expectOutside { _ = try workspace.readFile("notes/../../outside") }
            expectOutside { _ = try workspace.readFile("notes/../a.txt") }
            expectOutside { _ = try workspace.readFile("/etc/passwd") }
            expectOutside { _ = try workspace.readFile(root + "-other/x") }
            expectOutside { try workspace.writeFile("../planted", Array("x".utf8)) }
            expectOutside { _ = try workspace.list("..") }
            #expect(!FileManager.default.fileExists(atPath: root + "/../planted"))
        }
    }

    @Test("symlinks that stay inside are followed; those that leave are refused for read, write and list")
    func symlinks() throws {
        try withWorkspace { (workspace: Workspace, root: String) throws in
            #expect(try workspace.readFile("inside/a.txt") == Array("hello".utf8))
            #expect(try workspace.readFile("absolute-inside") == Array("hello".utf8))
            expectOutside { _ = try workspace.readFile("escape/passwd") }
            expectOutside { _ = try workspace.readFile("sneaky") }
            expectOutside { try workspace.writeFile("escape/planted", Array("x".utf8)) }
            expectOutside { try workspace.writeFile("sneaky", Array("overwritten".utf8)) }
            expectOutside { _ = try workspace.list("escape") }
            #expect(try String(contentsOfFile: root + "/../outside", encoding: .utf8) == "secret")
        }
    }

    @Test("writes create parent directories and listings describe entries")
    func writeAndList() throws {
        try withWorkspace { (workspace: Workspace, root: String) throws in
            try workspace.writeFile("deep/er/file.txt", Array("data".utf8))
            #expect(try String(contentsOfFile: root + "/deep/er/file.txt", encoding: .utf8) == "data")
            let entries = try workspace.list(".", recursive: true)
            #expect(entries.contains { $0.path == "deep/er/file.txt" && $0.type == "file" && $0.size == 4 })
            #expect(entries.contains { $0.path == "escape" && $0.type == "symlink" })
            #expect(!entries.contains { $0.path.hasPrefix("escape/") })
            #expect { _ = try workspace.readFile("missing") } throws: { ($0 as? SupervisorError)?.status == 404 }
        }
    }
}
