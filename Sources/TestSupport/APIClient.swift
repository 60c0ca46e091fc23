import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PersonaKit
import Testing

/// One response, with its body parsed as JSON when it is JSON.
public struct APIResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: String
    public var json: JSONValue?
    /// The body's bytes as received (for binary answers such as artifacts).
    public var bytes: [UInt8] = []

    /// `json.data`, the success payload.
    public var data: JSONValue? { json?["data"] }
    /// `json.code`, the error code.
    public var code: String? { json?["code"]?.stringValue }
}

/// A test client for the API that checks every response against the OpenAPI document:
/// the route and status must be documented and the body must match the documented schema;
/// error bodies must carry the response's trace id.
public struct APIClient: Sendable {
    let client: any TestClientProtocol
    static let validator = JSONSchemaValidator(root: controlPlaneOpenAPIDocument)

    /// The server's port in live mode (`nil` in router mode).
    public var port: Int? { client.port }

    public func request(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: JSONValue? = nil,
                        rawBody: String? = nil, rawBytes: [UInt8]? = nil, headers: HTTPFields = [:],
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONEncoder().encode(json))
            fields[.contentType] = "application/json"
        } else if let rawBody {
            body = ByteBuffer(string: rawBody)
            if fields[.contentType] == nil { fields[.contentType] = "application/json" }
        } else if let rawBytes {
            body = ByteBuffer(bytes: rawBytes)
        }
        let response = try await client.execute(uri: path, method: method, headers: fields, body: body)
        let text = String(buffer: response.body)
        let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        let result = APIResponse(status: response.status, headers: response.headers, body: text, json: parsed,
                                 bytes: Array(buffer: response.body))
        Self.checkConformance(method: method, path: path, response: result, sourceLocation: sourceLocation)
        return result
    }

    public func get(_ path: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.get, path, token: token, sourceLocation: sourceLocation)
    }

    public func post(_ path: String, token: String? = nil, json: JSONValue? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.post, path, token: token, json: json, sourceLocation: sourceLocation)
    }

    public func patch(_ path: String, token: String? = nil, json: JSONValue,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.patch, path, token: token, json: json, sourceLocation: sourceLocation)
    }

    public func put(_ path: String, token: String? = nil, json: JSONValue,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.put, path, token: token, json: json, sourceLocation: sourceLocation)
    }

    public func delete(_ path: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.delete, path, token: token, sourceLocation: sourceLocation)
    }

    /// Posts `multipart/form-data` with one file part (`field`, default `file`) and optional
    /// text fields, as a browser form would.
    public func upload(_ path: String, token: String? = nil, fileName: String, contentType: String = "application/octet-stream",
                       bytes: [UInt8], field: String = "file", fields: [String: String] = [:],
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        let boundary = "----persona-test-\(Identifier.make())"
        var body = ByteBuffer()
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(fileName)\"\r\n")
        body.writeString("Content-Type: \(contentType)\r\n\r\n")
        body.writeBytes(bytes)
        body.writeString("\r\n--\(boundary)--\r\n")
        var headers: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: body)
        let text = String(buffer: response.body)
        let result = APIResponse(status: response.status, headers: response.headers, body: text,
                                 json: try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
        Self.checkConformance(method: .post, path: path, response: result, sourceLocation: sourceLocation)
        return result
    }

    /// Logs in and returns `(accessToken, refreshToken)`; records a test failure otherwise.
    public func login(_ email: String = TestApp.adminEmail, _ password: String = TestApp.adminPassword,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> (access: String, refresh: String) {
        let response = try await post("/api/auth/login", json: ["email": .string(email), "password": .string(password)],
                                      sourceLocation: sourceLocation)
        guard response.status == .ok, let access = response.data?["accessToken"]?.stringValue,
              let refresh = response.data?["refreshToken"]?.stringValue else {
            throw TestSetupError("login of \(email) failed: \(response.status.code) \(response.body)")
        }
        return (access, refresh)
    }

    /// Creates a user as `adminToken` and logs them in; returns their id and access token.
    public func makeUser(_ email: String, role: String = "user", adminToken: String,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws -> (id: String, token: String) {
        let password = "password-for-\(email)"
        let created = try await post("/api/admin/users", token: adminToken, json: [
            "email": .string(email), "name": .string(email), "password": .string(password), "role": .string(role),
        ], sourceLocation: sourceLocation)
        guard created.status == .created, let id = created.data?["id"]?.stringValue else {
            throw TestSetupError("creating \(email) failed: \(created.status.code) \(created.body)")
        }
        return (id, try await login(email, password, sourceLocation: sourceLocation).access)
    }

    // MARK: OpenAPI conformance

    static func checkConformance(method: HTTPRequest.Method, path: String, response: APIResponse, sourceLocation: SourceLocation) {
        // CORS preflights are answered by the middleware for every route and are not operations.
        if method == .options { return }
        let route = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        // The console's pages and static files are HTML and assets for browsers, outside the
        // API document: ConsoleTests checks them.
        if !route.hasPrefix("/api/"), !["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(route) { return }
        guard let (template, operation) = findOperation(method: method, path: route) else {
            if response.status != .notFound && response.status != .methodNotAllowed {
                Issue.record("\(method) \(route) answered \(response.status.code) but is not in the OpenAPI document",
                             sourceLocation: sourceLocation)
            }
            return
        }
        guard let documented = operation["responses"]?[String(response.status.code)] else {
            Issue.record("\(method) \(template) answered \(response.status.code), which the OpenAPI document does not list: \(response.body)",
                         sourceLocation: sourceLocation)
            return
        }
        let traceId = response.headers[HTTPField.Name("X-Trace-Id")!]
        if traceId?.count != 32 {
            Issue.record("\(method) \(template): X-Trace-Id header missing or not 32 hex", sourceLocation: sourceLocation)
        }
        if response.status.code >= 400, response.json?["traceId"]?.stringValue != traceId {
            Issue.record("\(method) \(template): error body traceId does not match X-Trace-Id", sourceLocation: sourceLocation)
        }
        guard let schema = documented["content"]?["application/json"]?["schema"] else {
            let declaresOtherContent = documented["content"]?.objectValue?.isEmpty == false
            if response.status != .noContent, !declaresOtherContent {
                Issue.record("\(method) \(template) \(response.status.code) has a body but no documented JSON schema",
                             sourceLocation: sourceLocation)
            }
            return
        }
        guard let json = response.json else {
            Issue.record("\(method) \(template) \(response.status.code): body is not JSON: \(response.body.prefix(200))",
                         sourceLocation: sourceLocation)
            return
        }
        let violations = validator.validate(json, against: schema)
        if !violations.isEmpty {
            Issue.record("\(method) \(template) \(response.status.code) does not match the OpenAPI schema: \(violations.prefix(5)) body: \(response.body.prefix(300))",
                         sourceLocation: sourceLocation)
        }
    }

    static func findOperation(method: HTTPRequest.Method, path: String) -> (String, JSONValue)? {
        guard let paths = controlPlaneOpenAPIDocument["paths"]?.objectValue else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        // Prefer literal matches over templated ones (`/api/users/me` before `{id}`).
        let candidates = paths.filter { template, _ in
            let parts = template.split(separator: "/", omittingEmptySubsequences: true)
            return parts.count == segments.count && zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.sorted { $0.key.filter { $0 == "{" }.count < $1.key.filter { $0 == "{" }.count }
        for (template, item) in candidates {
            if let operation = item[method.rawValue.lowercased()] { return (template, operation) }
        }
        return nil
    }
}
