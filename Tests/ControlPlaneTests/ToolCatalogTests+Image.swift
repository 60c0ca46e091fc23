import ControlPlane
import Foundation
import Logging
import PersonaKit
import Testing
import TestSupport
import Tools

extension ToolCatalogTests {
    @Test("the catalog knows the persona image's tools from its label, without starting a container")
    func imageCatalog() async throws {
        // Fails, never skips, without the engine and the image scripts/test builds.
        try await ContainerTests.engine().shutdown()
        try await TestApp.run(.sqlite) { api, services in
            let admin = try await api.login().access
            let loader = ImageToolCatalog(registry: services.tools, containers: services.containers, startup: services.startup,
                                          logger: Logger(label: "test"))
            let image = services.configuration.containers.personaImage
            let id = try await loader.load(image)
            #expect(id != nil)
            #expect(try await loader.load(image, unless: id) == nil)

            // Every manifest under tools/ is in the label.
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let names = try FileManager.default.contentsOfDirectory(atPath: repository.path + "/tools").sorted()
            var listed: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.get("/api/tools?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
                listed += page.data?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                cursor = page.json?["nextCursor"]?.stringValue
            } while cursor != nil
            #expect(Set(names).isSubset(of: Set(listed)), "\(names) in \(listed)")

            let click = try await api.get("/api/tools/browser_click", token: admin)
            #expect(click.data?["source"] == "builtin")
            #expect(click.data?["dependsOn"] == ["browser_navigate@^1.0.0"])
            #expect(click.data?["dependencyChain"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["browser_navigate"])
            #expect(try await api.get("/api/tools?source=builtin&category=web", token: admin).data?.arrayValue?
                .contains { $0["name"] == "browser_extract" } == true)
        }
    }
}
