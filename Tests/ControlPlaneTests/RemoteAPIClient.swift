import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import PersonaKit
import Testing
@testable import TestSupport

/// The API of a control plane that runs elsewhere (a container of the compose stack) over real
/// HTTP; every response is checked against the OpenAPI document as ``APIClient`` checks it.
struct RemoteAPIClient: Sendable {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    let baseURL: String
    let http: HTTPClient

    func request(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: JSONValue? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method.rawValue)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(json)))
        }
        // A container start waits up to a minute for the supervisor (`?wait=60`).
        let response = try await http.execute(request, timeout: .seconds(90))
        let body = try await response.body.collect(upTo: 16 << 20)
        var headers = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let text = String(buffer: body)
        let result = APIResponse(status: .init(code: Int(response.status.code)), headers: headers, body: text,
                                 json: try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), bytes: Array(buffer: body))
        APIClient.checkConformance(method: method, path: path, response: result, sourceLocation: sourceLocation)
        return result
    }

    func get(_ path: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.get, path, token: token, sourceLocation: sourceLocation)
    }

    func post(_ path: String, token: String? = nil, json: JSONValue? = nil,
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.post, path, token: token, json: json, sourceLocation: sourceLocation)
    }

    func delete(_ path: String, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await request(.delete, path, token: token, sourceLocation: sourceLocation)
    }
}
