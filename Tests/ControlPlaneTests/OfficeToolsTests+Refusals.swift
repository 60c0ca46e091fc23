import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

extension OfficeToolsTests {
    @Test("bad input fails clearly (path escapes, limits, images outside or too large); switching a generator on switches office_runtime on")
    func refusalsAndDependencies() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite) { api, services in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin, name: "Office limits")
            _ = try await ContainerTests.start(api, admin, id)
            let setup = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": [
                "command": "ln -s /etc outside && ln -s /etc/passwd passwd.png && head -c 22000000 /dev/zero > big.png && echo text > notes.png"]])
            #expect(setup.data?["status"] == "succeeded", "\(setup.body)")

            func failure(_ tool: String, _ arguments: JSONValue, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let run = try await ContainerTests.invoke(api, admin, id, tool, ["arguments": arguments], sourceLocation: sourceLocation)
                #expect(run.status == .ok && run.data?["status"] == "failed", "\(run.body)", sourceLocation: sourceLocation)
                #expect(run.data?["output"]?["code"]?.stringValue == code, "\(run.body)", sourceLocation: sourceLocation)
                #expect(run.data?["output"]?["error"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
                #expect(run.data?["artifacts"]?.arrayValue?.isEmpty ?? true, "no artifact from a failed call", sourceLocation: sourceLocation)
            }
            let slide: JSONValue = [["layout": "title", "title": "x"]]
            try await failure("generate_presentation", ["path": "../escape.pptx", "slides": slide], "path_outside_workspace")
            try await failure("generate_presentation", ["path": "/tmp/escape.pptx", "slides": slide], "path_outside_workspace")
            try await failure("generate_document", ["path": "outside/escape.docx", "blocks": [["type": "paragraph", "text": "x"]]],
                              "path_outside_workspace")
            try await failure("generate_presentation", ["path": "x.pptx", "slides": [["layout": "image", "image": ["path": "passwd.png"]]]],
                              "path_outside_workspace")
            try await failure("generate_presentation", ["path": "x.pptx", "slides": [["layout": "image", "image": ["path": "big.png"]]]],
                              "image_too_large")
            try await failure("generate_document", ["path": "x.docx", "blocks": [["type": "image", "image": ["path": "notes.png"]]]],
                              "image_invalid")
            try await failure("generate_document", ["path": "x.docx", "blocks": [["type": "image", "image": ["path": "missing.png"]]]],
                              "image_not_found")
            // 101 columns x 1,000 rows: over the 100,000-cell limit (which no schema can state).
            let row = JSONValue.array(Array(repeating: 0, count: 101))
            try await failure("generate_spreadsheet", ["path": "new/big.xlsx", "sheets": [["rows": .array(Array(repeating: row, count: 1000))]]],
                              "too_many_cells")
            let workspace = services.configuration.storagePath + "/personas/\(id)/workspace"
            for name in ["escape.pptx", "x.pptx", "x.docx", "new"] {
                #expect(!FileManager.default.fileExists(atPath: workspace + "/" + name), "\(name) was not written")
            }
            #expect(!FileManager.default.fileExists(atPath: "/etc/escape.docx"))
            // What the schema states is refused before the tool runs.
            let tooMany = try await ContainerTests.invoke(api, admin, id, "generate_presentation", ["arguments": [
                "path": "x.pptx", "slides": .array(Array(repeating: ["layout": "title", "title": "x"], count: 201))]])
            #expect(tooMany.status == .badRequest && tooMany.code == "validation_failed", "\(tooMany.body)")
            let wrongType = try await ContainerTests.invoke(api, admin, id, "generate_document", ["arguments": ["path": "x.pdf", "blocks": [["type": "pageBreak"]]]])
            #expect(wrongType.status == .badRequest && wrongType.code == "validation_failed", "\(wrongType.body)")

            // The catalog knows the dependency; a persona's switches follow it.
            let detail = try await api.get("/api/tools/generate_presentation", token: admin)
            #expect(detail.data?["dependsOn"] == ["office_runtime@^1.0.0"] && detail.data?["category"] == "office", "\(detail.body)")
            #expect(detail.data?["dependencyChain"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["office_runtime"])
            let required = try await api.patch("/api/personas/\(id)/tools/office_runtime", token: admin, json: ["enabled": false])
            #expect(required.status == .conflict && required.code == "tool_required", "\(required.body)")
            for name in ["generate_presentation", "generate_spreadsheet", "generate_document", "office_runtime"] {
                let off = try await api.patch("/api/personas/\(id)/tools/\(name)", token: admin, json: ["enabled": false])
                #expect(off.status == .ok && off.data?["enabled"] == false, "\(off.body)")
            }
            let on = try await api.patch("/api/personas/\(id)/tools/generate_presentation", token: admin, json: ["enabled": true])
            #expect(on.status == .ok && on.data?["enabled"] == true, "\(on.body)")
            let enabled = Dictionary(uniqueKeysWithValues: (try await api.get("/api/personas/\(id)/tools", token: admin).data?.arrayValue ?? [])
                .compactMap { tool in tool["name"]?.stringValue.map { ($0, tool["enabled"]?.boolValue ?? false) } })
            #expect(enabled["office_runtime"] == true && enabled["generate_presentation"] == true, "\(enabled)")
            #expect(enabled["generate_spreadsheet"] == false && enabled["generate_document"] == false, "\(enabled)")
            let audit = try await api.get("/api/audit?personaId=\(id)&type=tool.updated", token: admin)
            #expect(audit.data?[0]?["metadata"]?["dependenciesEnabled"] == ["office_runtime"], "\(audit.body)")
            let works = try await ContainerTests.invoke(api, admin, id, "generate_presentation", ["arguments": ["path": "ok.pptx", "slides": slide]])
            #expect(works.data?["status"] == "succeeded", "\(works.body)")
        }
    }
}
