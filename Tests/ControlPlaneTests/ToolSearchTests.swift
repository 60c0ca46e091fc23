import ControlPlane
import Foundation
import Logging
import PersonaKit
import Testing
import TestSupport
import Tools

@Suite("Semantic tool search")
struct ToolSearchTests {
    static func manifest(_ name: String, _ description: String, properties: [String], version: String = "1.0.0",
                         dependsOn: [String] = []) -> ToolManifest {
        ToolManifest(name: name, version: version, description: description, category: "zz-search",
                     inputSchema: ["type": "object", "properties": .object(Dictionary(uniqueKeysWithValues: properties.map {
                         ($0, ["type": "string"] as JSONValue)
                     }))],
                     dependsOn: dependsOn, command: ["run"])
    }

    static let catalog = [
        manifest("zz_image_resize", "Change the pixel dimensions of an image to a given width and height.", properties: ["path", "width", "height"]),
        manifest("zz_image_crop", "Cut a rectangular region out of an image.", properties: ["path", "x", "y", "width", "height"]),
        manifest("zz_image_compress", "Reduce an image's file size by re-encoding it at a lower quality, for attachments and uploads.",
                 properties: ["path", "quality"]),
        manifest("zz_csv_to_json", "Convert a CSV file into a JSON array of records.", properties: ["path"]),
        manifest("zz_json_to_csv", "Convert a JSON array of records into a CSV file.", properties: ["path"]),
        manifest("zz_invoice_create", "Draft a new invoice for a customer with line items and a due date.", properties: ["customer", "items", "dueDate"]),
        manifest("zz_invoice_send", "Email an existing invoice to the customer.", properties: ["invoiceId", "message"],
                 dependsOn: ["zz_invoice_create@^1.0.0"]),
        manifest("zz_weather_forecast", "Get the weather forecast for a city for the next days.", properties: ["city", "days"]),
    ]

    static func names(_ response: APIResponse) -> [String] {
        response.data?.arrayValue?.compactMap { $0["tool"]?["name"]?.stringValue } ?? []
    }

    @Test("requests find the right tool by meaning, a named tool comes first, results carry their chain", arguments: TestBackend.allCases)
    func search(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            // The image's tools join the catalog at start; have them in before counting.
            try await ImageToolCatalog(registry: services.tools, containers: services.containers, startup: services.startup,
                                       logger: Logger(label: "test")).load(services.configuration.containers.personaImage)
            _ = try await services.database.transaction { try await services.tools.register(Self.catalog, source: .custom, on: $0) }
            #expect(try await services.toolSearch.embedMissing() >= Self.catalog.count)
            #expect(try await services.toolSearch.embedMissing() == 0)

            let photo = try await api.get("/api/tools/search?q=make%20this%20photo%20smaller%20so%20it%20fits%20in%20an%20email&limit=3", token: admin)
            #expect(photo.status == .ok)
            #expect(Self.names(photo).first == "zz_image_compress", "\(photo.body)")
            #expect(photo.data?[0]?["similarity"]?.doubleValue.map { $0 > 0.2 } == true)

            let rain = try await api.get("/api/tools/search?q=will%20it%20rain%20in%20Lisbon%20tomorrow&limit=3", token: admin)
            #expect(Self.names(rain).first == "zz_weather_forecast", "\(rain.body)")

            // Its nearest neighbour says nearly the same; the exact name still wins.
            let named = try await api.get("/api/tools/search?q=run%20zz_json_to_csv%20on%20orders.json&limit=3", token: admin)
            #expect(Self.names(named).first == "zz_json_to_csv", "\(named.body)")

            let bill = try await api.get("/api/tools/search?q=mail%20the%20customer%20their%20bill&limit=3", token: admin)
            #expect(Self.names(bill).first == "zz_invoice_send", "\(bill.body)")
            #expect(bill.data?[0]?["dependencyChain"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["zz_invoice_create"])

            #expect(try await api.get("/api/tools/search?q=&limit=3", token: admin).status == .badRequest)
            #expect(try await api.get("/api/tools/search?q=x&limit=0", token: admin).status == .badRequest)
            #expect(try await api.get("/api/tools/search?q=x&limit=51", token: admin).status == .badRequest)

            // A changed description is embedded again.
            _ = try await services.database.transaction {
                try await services.tools.register([Self.manifest("zz_weather_forecast", "Hourly and daily forecasts for any place.",
                                                                 properties: ["city", "days"])], source: .custom, on: $0)
            }
            #expect(try await services.toolSearch.embedMissing() == 1)
        }
    }

    @Test("with personaId only that persona's enabled tools are ranked; another user's persona is 404", arguments: TestBackend.allCases)
    func personaFilter(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let other = try await api.makeUser("search-other@example.com", adminToken: admin)
            let id = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Searcher"]).data?["id"]?.stringValue)
            try await services.database.transaction { tx in
                // Image tools: they start switched on (uploaded ones start off).
                try await services.tools.register(Self.catalog, source: .image, on: tx)
                try await services.tools.syncPersona(personaId: id, manifests: Array(Self.catalog.prefix(3)), now: Date(), on: tx)
            }
            try await services.toolSearch.embedMissing()
            #expect(try await api.patch("/api/personas/\(id)/tools/zz_image_compress", token: admin, json: ["enabled": false]).status == .ok)
            let found = try await api.get("/api/tools/search?q=shrink%20a%20picture&limit=10&personaId=\(id)", token: admin)
            #expect(Set(Self.names(found)) == ["zz_image_resize", "zz_image_crop"], "\(found.body)")
            #expect(try await api.get("/api/tools/search?q=x&personaId=\(id)", token: other.token).status == .notFound)
            #expect(try await api.get("/api/tools/search?q=x&personaId=nope", token: admin).status == .notFound)
        }
    }
}
