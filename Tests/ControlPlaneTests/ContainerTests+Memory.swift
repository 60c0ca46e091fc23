import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

extension ContainerTests {
    @Test("memory_search in the container answers from its synced cache by vector, and a deleted document drops out",
          arguments: TestBackend.allCases)
    func memorySearchInContainer(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let id = try await Self.persona(api, admin)
            var documents: [String: String] = [:]
            for (name, text) in [("solar.txt", MemoryTests.solar), ("bakery.md", MemoryTests.bakery)] {
                let uploaded = try await api.upload("/api/personas/\(id)/memory/upload", token: admin, fileName: name, bytes: Array(text.utf8))
                documents[name] = try #require(uploaded.data?["id"]?.stringValue)
            }
            _ = try await MemoryTests.waitForIngestion(api, persona: id, token: admin, count: 2)
            _ = try await Self.start(api, admin, id)
            let tools = try await api.get("/api/personas/\(id)/tools", token: admin).data?.arrayValue ?? []
            #expect(tools.contains { $0["name"] == "memory_search" })

            let first = try await Self.invoke(api, admin, id, "memory_search",
                                              ["arguments": ["query": "when does the shop bake bread", "limit": 3]])
            #expect(first.data?["status"] == "succeeded", "\(first.body)")
            let output = try #require(first.data?["output"])
            #expect(output["mode"] == "vector", "\(first.body)")
            #expect(output["synced"] == true)
            #expect((output["version"]?.intValue ?? 0) >= 2)
            let results = try #require(output["results"]?.arrayValue)
            #expect(results.first?["documentId"]?.stringValue == documents["bakery.md"], "\(first.body)")
            #expect(results.first?["documentName"] == "bakery.md")
            #expect(results.first?["text"]?.stringValue?.contains("sourdough") == true)

            #expect(try await api.delete("/api/personas/\(id)/memory/\(documents["bakery.md"]!)", token: admin).status == .noContent)
            let second = try await Self.invoke(api, admin, id, "memory_search",
                                               ["arguments": ["query": "when does the shop bake bread", "limit": 3]])
            let after = second.data?["output"]?["results"]?.arrayValue ?? []
            #expect(!after.isEmpty, "\(second.body)")
            #expect(!after.contains { $0["documentId"]?.stringValue == documents["bakery.md"] }, "\(second.body)")
            #expect((second.data?["output"]?["version"]?.intValue ?? 0) > (output["version"]?.intValue ?? 0))
        }
    }
}
