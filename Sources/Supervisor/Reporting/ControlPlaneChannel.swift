import NIOHTTP1
import PersonaKit

/// The authenticated way to the control plane's internal API: the endpoint (unix socket or
/// TCP with a path prefix), the container token as `Bearer`, and a fresh `traceparent` per
/// request. Shared by the ``ControlPlaneReporter`` and the ``MemorySynchronizer``.
public struct ControlPlaneChannel: Sendable {
    public let endpoint: ControlPlaneEndpoint
    let token: String
    let client: SimpleHTTPClient

    public init(endpoint: ControlPlaneEndpoint, token: String, client: SimpleHTTPClient = SimpleHTTPClient()) {
        self.endpoint = endpoint
        self.token = token
        self.client = client
    }

    /// Sends one request to `path` (which may carry a query string) and returns the answer,
    /// whatever its status.
    /// - Throws: ``SupervisorError`` `connect_failed`, `timeout`, `http_error`, `response_too_large`.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?, timeout: Duration = .seconds(10)) async throws(SupervisorError) -> SimpleHTTPClient.Response {
        let trace = TraceContext.newRoot()
        var headers = [("Authorization", "Bearer \(token)"), ("traceparent", trace.traceparent)]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        switch endpoint {
        case .unixSocket(let socket):
            return try await client.send(.unixSocket(socket), method: method, path: path, headers: headers, body: body, timeout: timeout)
        case .tcp(let host, let port, let base):
            return try await client.send(.tcp(host: host, port: port), method: method, path: base + path, headers: headers, body: body, timeout: timeout)
        }
    }
}
