import ControlPlane
import Foundation
import HTTPTypes
import PersonaKit
import Testing
import TestSupport

@Suite("Errors, tracing and HTTP hygiene")
struct ErrorHandlingTests {
    @Test("malformed JSON, wrong types, unknown fields and oversize bodies are 4xx with the error shape", arguments: TestBackend.allCases)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let cases: [(String, HTTPResponse.Status)] = [
                ("{not json", .badRequest),
                ("[]", .badRequest),
                ("{\"name\": 42}", .badRequest),
                ("{\"name\": \"ok\", \"owner\": \"me\"}", .badRequest),
                ("{}", .badRequest),
                ("{\"name\": \"   \"}", .badRequest),
                ("{\"name\": \"x\", \"theme\": [1]}", .badRequest),
                ("{\"name\": \"\(String(repeating: "n", count: 101))\"}", .badRequest),
                ("{\"name\": \"\(String(repeating: "n", count: 1_100_000))\"}", .contentTooLarge),
            ]
            for (body, status) in cases {
                let response = try await api.request(.post, "/api/personas", token: admin, rawBody: body)
                #expect(response.status == status, "\(body.prefix(40))")
                #expect(response.json?["error"]?.stringValue?.isEmpty == false)
                #expect(response.json?["code"]?.stringValue?.isEmpty == false)
                #expect(response.json?["traceId"]?.stringValue?.count == 32)
            }
            let unknown = try await api.request(.post, "/api/personas", token: admin, rawBody: "{\"name\": \"ok\", \"owner\": \"me\"}")
            #expect(unknown.json?["error"]?.stringValue?.contains("owner") == true)
            // Nothing half-written: no persona exists after all those failures.
            #expect(try await api.get("/api/personas", token: admin).data?.arrayValue?.isEmpty == true)
        }
    }

    @Test("unknown routes and bad ids are 404 in the error shape", arguments: [TestBackend.sqlite])
    func notFound(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let route = try await api.get("/api/nothing-here", token: admin)
            #expect(route.status == .notFound)
            #expect(route.code == "not_found")
            #expect(try await api.get("/api/personas/12345", token: admin).status == .notFound)
            #expect(try await api.get("/api/personas/\(Identifier.make())", token: admin).status == .notFound)
        }
    }

    @Test("a caller's traceparent is continued; without one a new trace starts", arguments: [TestBackend.sqlite])
    func traceContext(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            let continued = try await api.request(.get, "/healthz", headers: [.init("traceparent")!: parent])
            let traceparent = try #require(continued.headers[.init("traceparent")!])
            let parsed = try #require(TraceContext(traceparent: traceparent))
            #expect(parsed.traceId == "0af7651916cd43dd8448eb211c80319c")
            #expect(parsed.spanId != "b7ad6b7169203331")
            let fresh = try await api.request(.get, "/healthz", headers: [.init("traceparent")!: "garbage"])
            let freshId = try #require(fresh.headers[.init("X-Trace-Id")!])
            #expect(freshId.count == 32 && freshId != "0af7651916cd43dd8448eb211c80319c")
        }
    }

    @Test("responses carry security headers; auth responses are not cached", arguments: [TestBackend.sqlite])
    func securityHeaders(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let health = try await api.get("/healthz")
            #expect(health.headers[.init("X-Content-Type-Options")!] == "nosniff")
            #expect(health.headers[.init("X-Frame-Options")!] == "DENY")
            let login = try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": .string(TestApp.adminPassword)])
            #expect(login.headers[.cacheControl] == "no-store")
        }
    }

    @Test("CORS answers preflight for the configured origin only", arguments: [TestBackend.sqlite])
    func cors(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.corsOrigin = "http://localhost:5173" }) { api, _ in
            let preflight = try await api.request(.options, "/api/personas", headers: [
                .origin: "http://localhost:5173", .accessControlRequestMethod: "POST",
            ])
            #expect(preflight.headers[.accessControlAllowOrigin] == "http://localhost:5173")
            let simple = try await api.request(.get, "/healthz", headers: [.origin: "http://localhost:5173"])
            #expect(simple.headers[.accessControlAllowOrigin] == "http://localhost:5173")
        }
    }

    @Test("the general rate limit answers 429 with Retry-After", arguments: [TestBackend.sqlite])
    func generalRateLimit(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimit.enabled = true; $0.rateLimit.maxRequests = 5 }) { api, _ in
            let admin = try await api.login().access
            var statuses: [UInt16] = []
            for _ in 0..<6 { statuses.append(UInt16(try await api.get("/api/personas", token: admin).status.code)) }
            #expect(statuses.prefix(5).allSatisfy { $0 == 200 })
            let limited = try await api.get("/api/personas", token: admin)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
        }
    }
}
