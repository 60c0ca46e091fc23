#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOHTTP1
import PersonaKit

/// `http_fetch`: one plain-HTTP GET or POST with a size cap and a time limit, through the
/// supervisor's own small NIO client (`https` needs TLS, which the supervisor does not link:
/// use `shell` with curl for that).
enum HTTPFetchTool {
    static func run(_ invocation: ToolInvocation, context: ToolContext) async throws(SupervisorError) -> InvocationResult {
        let args = invocation.arguments
        let urlText = args["url"]?.stringValue ?? ""
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw SupervisorError("validation_failed", "url must be an absolute http URL", status: 400)
        }
        guard scheme == "http" else {
            throw SupervisorError("unsupported_scheme", "only http:// is supported by http_fetch (no TLS in the supervisor)", status: 400)
        }
        let method: HTTPMethod = args["method"]?.stringValue?.uppercased() == "POST" ? .POST : .GET
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?" + query }
        var headers: [(String, String)] = [("traceparent", invocation.trace.traceparent)]
        for (name, value) in args["headers"]?.objectValue ?? [:] {
            if let value = value.stringValue, !["host", "content-length", "connection"].contains(name.lowercased()) {
                headers.append((name, value))
            }
        }
        let body = method == .POST ? Array((args["body"]?.stringValue ?? "").utf8) : nil
        let maxBytes = min(args["maxBytes"]?.intValue ?? (1 << 20), 10 << 20)
        let response = try await context.http.send(
            .tcp(host: host, port: url.port ?? 80), method: method, path: path, headers: headers, body: body,
            timeout: invocation.timeout, maxResponseBytes: maxBytes, truncateInsteadOfFailing: true)
        let text = String(validating: response.body, as: UTF8.self)
        var headerObject: [String: JSONValue] = [:]
        for (name, value) in response.headers { headerObject[name.lowercased()] = .string(value) }
        return InvocationResult(
            id: invocation.id, tool: "http_fetch", status: .succeeded,
            output: [
                "status": .number(Double(response.status)), "headers": .object(headerObject),
                "body": .string(text ?? Data(response.body).base64EncodedString()),
                "encoding": .string(text == nil ? "base64" : "utf8"), "truncated": .bool(response.truncated),
            ],
            traceId: invocation.trace.traceId)
    }
}
