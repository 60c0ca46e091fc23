import Console
import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport

@Suite("Operations endpoints and the OpenAPI document")
struct OpsTests {
    @Test("healthz, readyz and metrics answer", arguments: TestBackend.allCases)
    func opsEndpoints(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            #expect(try await api.get("/healthz").data == nil)
            #expect(try await api.get("/healthz").json?["status"] == "ok")
            let ready = try await api.get("/readyz")
            #expect(ready.status == .ok)
            #expect(ready.json?["database"]?.stringValue == backend.rawValue)
            let admin = try await api.login().access
            _ = try await api.get("/api/personas", token: admin)
            _ = try await api.get("/api/personas/\(Identifier.make())", token: admin)
            let metrics = try await api.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.body.contains(#"http_requests_total{method="GET",route="/api/personas",status="200"} 1"#))
            #expect(metrics.body.contains(#"http_requests_total{method="GET",route="/api/personas/{id}",status="404"} 1"#))
            #expect(metrics.body.contains("http_request_duration_seconds_bucket"))
        }
    }

    @Test("the OpenAPI document lists exactly the router's routes")
    func openAPIMatchesRouter() async throws {
        try await TestApp.run(.sqlite) { api, services in
            let served = try await api.get("/openapi.json")
            #expect(served.json?["openapi"] == "3.1.0")
            let router = buildRouter(services)
            // The console's pages and files are HTML for browsers, not API: ConsoleTests covers them.
            let console = Set(ConsolePage.all.map { "get /" + $0.path } + ["get /", "get /console/static/{version}/**", "get /favicon.ico"])
            let routes = Set(router.routes.map { "\($0.method.rawValue.lowercased()) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path)" })
                .subtracting(console)
            #expect(router.routes.count - routes.count == ConsolePage.all.count + 2)
            var documented: Set<String> = []
            for (path, item) in served.json?["paths"]?.objectValue ?? [:] {
                for method in item.objectValue?.keys ?? [:].keys { documented.insert("\(method) \(path)") }
            }
            #expect(routes == documented, "only in router: \(routes.subtracting(documented).sorted()); only documented: \(documented.subtracting(routes).sorted())")
            #expect(routes.count >= 28)
        }
    }

    @Test("every schema reference in the OpenAPI document resolves")
    func openAPIReferencesResolve() throws {
        let document = controlPlaneOpenAPIDocument
        let validator = JSONSchemaValidator(root: document)
        var refs: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if let ref = members["$ref"]?.stringValue { refs.append(ref) }
                members.values.forEach(walk)
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(document)
        #expect(refs.count > 20)
        for ref in Set(refs) {
            let violations = validator.validate(.null, against: ["$ref": .string(ref)])
            #expect(!violations.contains { $0.message.contains("unresolvable") }, "\(ref)")
        }
    }
}
