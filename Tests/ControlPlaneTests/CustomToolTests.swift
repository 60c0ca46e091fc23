import ControlPlane
import DockerEngine
import Foundation
import PersonaKit
import Testing
import TestSupport
import TestTraits

/// Custom tools end to end: packages made with Python's `tarfile`/`zipfile`, uploaded through
/// the API, run in a real persona container from the real image (its supervisor picks them up
/// without a restart), replaced by a new version, refused when broken, deleted when unused.
@Suite("Custom tools", .serialized)
struct CustomToolTests {
    /// A tool package (`.tar.gz`) whose `run` is `script`; `manifest` extra members are merged in.
    static func package(name: String, version: String, script: String, extra: String = "", zip: Bool = false) async throws -> [UInt8] {
        let manifest = """
            {"name": "\(name)", "version": "\(version)", "description": "Echoes its input with the tool's version and uid (test tool \(name))", \
            "category": "testing", "command": ["bin/run"], "timeoutMs": 20000, \
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 100}}, "additionalProperties": false}\(extra)}
            """
        let writer = zip
            ? """
              with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
                  z.writestr("tool.json", MANIFEST)
                  i = zipfile.ZipInfo("bin/run"); i.external_attr = (0o100755 << 16); i.create_system = 3
                  z.writestr(i, SCRIPT)
              """
            : """
              with tarfile.open(fileobj=out, mode='w:gz') as t:
                  for name, data, mode in [("\(name)/tool.json", MANIFEST, 0o644), ("\(name)/bin/run", SCRIPT, 0o755)]:
                      info = tarfile.TarInfo(name); info.size = len(data); info.mode = mode; info.mtime = time.time()
                      t.addfile(info, io.BytesIO(data))
              """
        let script = """
            import io, sys, tarfile, zipfile, time, base64
            MANIFEST = base64.b64decode("\(Data(manifest.utf8).base64EncodedString())")
            SCRIPT = base64.b64decode("\(Data(script.utf8).base64EncodedString())")
            out = io.BytesIO()
            \(writer)
            sys.stdout.buffer.write(out.getvalue())
            """
        let result = try await TestCommand.run("/usr/bin/python3", ["-c", script])
        try #require(result.succeeded, "\(result.errors)")
        return Array(result.data)
    }

    static func echo(_ version: String) -> String {
        "#!/bin/sh\ninput=$(cat)\nprintf '{\"version\":\"\(version)\",\"uid\":%s,\"input\":%s}\\n' \"$(id -u)\" \"$input\"\n"
    }

    static func upload(_ api: APIClient, _ token: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await api.upload("/api/tools", token: token, fileName: "tool.tar.gz", contentType: "application/gzip", bytes: bytes,
                             field: "package", sourceLocation: sourceLocation)
    }

    @Test("an uploaded tool reaches a running container without a restart, runs as uid 1000 once enabled, is replaced by a new version and deleted when unused",
          arguments: TestBackend.allCases)
    func lifecycle(backend: TestBackend) async throws {
        try await ContainerTests.engine().shutdown()
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin)
            _ = try await ContainerTests.start(api, admin, id)

            // Upload: 201, stored, in the catalog as custom, delivered to the running container.
            let first = try await Self.upload(api, admin, try await Self.package(name: "echo_tool", version: "1.0.0", script: Self.echo("1.0.0")))
            #expect(first.status == .created, "\(first.body)")
            #expect(first.data?["tool"]?["source"] == "custom")
            #expect(first.data?["package"]?["format"] == "tar.gz")
            #expect(first.data?["delivery"]?["reloaded"] == 1)
            let stored = services.configuration.storagePath + "/tools/echo_tool/1.0.0/bin/run"
            #expect(FileManager.default.isExecutableFile(atPath: stored))
            #expect(try await api.get("/api/tools?source=custom", token: admin).data?.arrayValue?.map { $0["name"] } == ["echo_tool"])

            // Search finds it once embedded (the indexer's work, done here at once).
            #expect(try await services.toolSearch.embedMissing() >= 1)
            let found = try await api.get("/api/tools/search?q=echo%20my%20input%20back%20with%20the%20version&limit=3", token: admin)
            #expect(found.data?.arrayValue?.first?["tool"]?["name"] == "echo_tool", "\(found.body)")

            // The persona has it, switched off until someone turns it on.
            let listed = try await api.get("/api/personas/\(id)/tools", token: admin)
            let entry = listed.data?.arrayValue?.first { $0["name"] == "echo_tool" }
            #expect(entry?["enabled"] == false, "\(listed.body)")
            let off = try await ContainerTests.invoke(api, admin, id, "echo_tool", ["arguments": ["text": "hi"]])
            #expect(off.status == .conflict)
            #expect(off.json?["code"] == "tool_disabled")
            #expect(try await api.patch("/api/personas/\(id)/tools/echo_tool", token: admin, json: ["enabled": true]).status == .ok)

            // It runs like a built-in: schema checked, as uid 1000, recorded as a tool run.
            let bad = try await ContainerTests.invoke(api, admin, id, "echo_tool", ["arguments": ["text": 5]])
            #expect(bad.status == .badRequest, "\(bad.body)")
            let ran = try await ContainerTests.invoke(api, admin, id, "echo_tool", ["arguments": ["text": "hello"]])
            #expect(ran.status == .ok, "\(ran.body)")
            #expect(ran.data?["status"] == "succeeded")
            #expect(ran.data?["output"]?["version"] == "1.0.0")
            #expect(ran.data?["output"]?["uid"] == 1000)
            #expect(ran.data?["output"]?["input"]?["text"] == "hello")
            // The package is read-only inside the container.
            let write = try await ContainerTests.invoke(api, admin, id, "shell",
                                                        ["arguments": ["command": "touch /opt/persona/custom-tools/echo_tool/x 2>&1; echo $?"]])
            #expect(write.data?["output"]?["stdout"]?.stringValue?.contains("Read-only file system") == true, "\(write.body)")

            // The same name and version again, a built-in's name: refused.
            let again = try await Self.upload(api, admin, try await Self.package(name: "echo_tool", version: "1.0.0", script: Self.echo("1.0.0")))
            #expect(again.status == .conflict)
            #expect(again.json?["code"] == "tool_version_exists")
            let clash = try await Self.upload(api, admin, try await Self.package(name: "shell", version: "9.0.0", script: Self.echo("9")))
            #expect(clash.status == .conflict)
            #expect(clash.json?["code"] == "tool_exists")

            // A new version (as a zip this time) replaces it in the running container; the switch stays on.
            let second = try await Self.upload(api, admin,
                                               try await Self.package(name: "echo_tool", version: "1.1.0", script: Self.echo("1.1.0"), zip: true))
            #expect(second.status == .created, "\(second.body)")
            #expect(second.data?["package"]?["format"] == "zip")
            #expect(second.data?["tool"]?["versions"]?.arrayValue?.count == 2)
            let replaced = try await ContainerTests.invoke(api, admin, id, "echo_tool", ["arguments": ["text": "again"]])
            #expect(replaced.data?["output"]?["version"] == "1.1.0", "\(replaced.body)")

            // Delete the old version (nothing uses it), then the new one; a built-in cannot be deleted.
            let deleted = try await api.delete("/api/tools/echo_tool/versions/1.0.0", token: admin)
            #expect(deleted.status == .ok, "\(deleted.body)")
            #expect(!FileManager.default.fileExists(atPath: stored))
            #expect(try await api.delete("/api/tools/echo_tool/versions/1.0.0", token: admin).status == .notFound)
            let builtin = try await api.delete("/api/tools/shell/versions/1.0.0", token: admin)
            #expect(builtin.status == .conflict)
            #expect(builtin.json?["code"] == "tool_not_custom")
            #expect(try await api.delete("/api/tools/echo_tool/versions/1.1.0", token: admin).status == .ok)
            let gone = try await ContainerTests.invoke(api, admin, id, "echo_tool", ["arguments": ["text": "x"]])
            #expect(gone.status == .notFound, "\(gone.body)")

            // Every change is audited.
            let audit = try await api.get("/api/audit?type=tool.uploaded", token: admin)
            #expect(audit.data?.arrayValue?.count == 2, "\(audit.body)")
            #expect(try await api.get("/api/audit?type=tool.deleted", token: admin).data?.arrayValue?.count == 2)
        }
    }

    @Test("broken tools fail with a clear code, never a 500; a version in use cannot be deleted; a container started after the upload loads the tools; only admins upload")
    func brokenAndBusy() async throws {
        try await ContainerTests.engine().shutdown()
        try await TestApp.run(.sqlite) { api, services in
            let admin = try await api.login().access
            let user = try await api.makeUser("toolmaker@example.com", adminToken: admin)
            let refused = try await Self.upload(api, user.token, try await Self.package(name: "mine", version: "1.0.0", script: Self.echo("1")))
            #expect(refused.status == .forbidden)

            // A package that is not a package: 422 with the problem named.
            let junk = try await api.upload("/api/tools", token: admin, fileName: "x.tgz", contentType: "application/gzip",
                                            bytes: Array("not an archive".utf8), field: "package")
            #expect(junk.status == .unprocessableContent)
            #expect(junk.json?["code"] == "package_invalid")
            #expect(junk.json?["error"]?.stringValue?.contains("not a .tar.gz") == true)
            // The archive may also be the body itself; other content types are refused.
            let text = try await api.request(.post, "/api/tools", token: admin, rawBytes: Array("hello".utf8),
                                             headers: [.contentType: "text/plain"])
            #expect(text.status == .unsupportedMediaType)
            let raw = try await api.request(.post, "/api/tools", token: admin,
                                            rawBytes: try await Self.package(name: "raw_upload", version: "0.1.0", script: Self.echo("0.1.0")),
                                            headers: [.contentType: "application/gzip"])
            #expect(raw.status == .created, "\(raw.body)")
            #expect(raw.data?["delivery"]?["reloaded"] == 0)

            let tools: [(String, String, String)] = [
                ("crashes", "#!/bin/sh\necho boom >&2\nexit 3\n", ""),
                ("says_text", "#!/bin/sh\necho this is not json\n", ""),
                ("talks_too_much", "#!/bin/sh\nyes a | head -c 5000\n", #", "maxOutputBytes": 1000"#),
                ("sleeps", "#!/bin/sh\nsleep 30\n", ""),
            ]
            for (name, script, extra) in tools {
                let up = try await Self.upload(api, admin, try await Self.package(name: name, version: "1.0.0", script: script, extra: extra))
                #expect(up.status == .created, "\(name): \(up.body)")
            }
            // Uploaded before the container existed: loaded when it starts.
            let id = try await ContainerTests.persona(api, admin)
            _ = try await ContainerTests.start(api, admin, id)
            for (name, _, _) in tools {
                #expect(try await api.patch("/api/personas/\(id)/tools/\(name)", token: admin, json: ["enabled": true]).status == .ok)
            }
            let crash = try await ContainerTests.invoke(api, admin, id, "crashes", ["arguments": [:]])
            #expect(crash.status == .ok, "\(crash.body)")
            #expect(crash.data?["status"] == "failed")
            #expect(crash.data?["errorCode"] == "exit_nonzero")
            #expect(crash.data?["exitCode"] == 3)
            #expect(crash.data?["stderrTail"]?.stringValue?.contains("boom") == true)
            let notJSON = try await ContainerTests.invoke(api, admin, id, "says_text", ["arguments": [:]])
            #expect(notJSON.data?["errorCode"] == "invalid_output", "\(notJSON.body)")
            let loud = try await ContainerTests.invoke(api, admin, id, "talks_too_much", ["arguments": [:]])
            #expect(loud.data?["errorCode"] == "output_too_large", "\(loud.body)")

            // A call still running keeps its version from being deleted.
            let call = Task { try await ContainerTests.invoke(api, admin, id, "sleeps", ["arguments": [:], "timeoutMs": 4000]) }
            #expect(try await ContainerTests.eventually(10) {
                try await api.get("/api/personas/\(id)/tool-runs", token: admin).data?.arrayValue?
                    .contains { $0["tool"] == "sleeps" && $0["status"] == "running" } == true
            })
            let busy = try await api.delete("/api/tools/sleeps/versions/1.0.0", token: admin)
            #expect(busy.status == .conflict, "\(busy.body)")
            #expect(busy.json?["code"] == "tool_in_use")
            let slept = try await call.value
            #expect(slept.data?["status"] == "timed_out", "\(slept.body)")
            #expect(try await api.delete("/api/tools/sleeps/versions/1.0.0", token: admin).status == .ok)
            #expect(!FileManager.default.fileExists(atPath: services.configuration.storagePath + "/tools/sleeps"))
        }
    }
}
