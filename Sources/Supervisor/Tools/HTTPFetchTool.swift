#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOHTTP1
import PersonaKit

/// `http_fetch`: one GET or POST with a size cap (`maxBytes`: a longer body is cut and
/// `truncated` is true) and the invocation's time limit. `http://` goes through the
/// supervisor's own small NIO client; `https://` through curl with certificate verification
/// always on (the system CA bundle, plus `caCertificate`, a PEM file in the workspace trusted
/// in addition to it): see `HTTPFetchTool+Curl.swift`. Neither follows redirects (a 3xx comes
/// back as it is). Both answer `{status, headers (lowercased), body, encoding, truncated}`.
enum HTTPFetchTool {
    static func run(_ invocation: ToolInvocation, context: ToolContext) async throws(SupervisorError) -> InvocationResult {
        let args = invocation.arguments
        let urlText = args["url"]?.stringValue ?? ""
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw SupervisorError("validation_failed", "url must be an absolute http or https URL", status: 400)
        }
        guard scheme == "http" || scheme == "https" else {
            throw SupervisorError("unsupported_scheme", "http_fetch supports http:// and https:// only", status: 400)
        }
        let caCertificate = args["caCertificate"]?.stringValue
        guard caCertificate == nil || scheme == "https" else {
            throw SupervisorError("validation_failed", "caCertificate applies to https:// URLs only", status: 400)
        }
        let method: HTTPMethod = args["method"]?.stringValue?.uppercased() == "POST" ? .POST : .GET
        var headers: [(String, String)] = [("traceparent", invocation.trace.traceparent)]
        for (name, value) in args["headers"]?.objectValue ?? [:] {
            if let value = value.stringValue, !["host", "content-length", "connection"].contains(name.lowercased()) {
                headers.append((name, value))
            }
        }
        let body = method == .POST ? Array((args["body"]?.stringValue ?? "").utf8) : nil
        let maxBytes = max(1, min(args["maxBytes"]?.intValue ?? (1 << 20), 10 << 20))
        let response: SimpleHTTPClient.Response
        if scheme == "https" {
            response = try await fetchWithCurl(
                url: urlText, method: method == .POST ? "POST" : "GET", headers: headers, body: body,
                caCertificate: caCertificate, maxBytes: maxBytes, invocation: invocation, context: context)
        } else {
            var path = url.path.isEmpty ? "/" : url.path
            if let query = url.query { path += "?" + query }
            response = try await context.http.send(
                .tcp(host: host, port: url.port ?? 80), method: method, path: path, headers: headers, body: body,
                timeout: invocation.timeout, maxResponseBytes: maxBytes, truncateInsteadOfFailing: true)
        }
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
