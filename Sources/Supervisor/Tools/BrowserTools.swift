#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit

/// The `browser_*` tools: built into the supervisor, carried out by the Playwright driver
/// sidecar (one browser per persona, its profile on the cache mount) over the driver's unix
/// socket. The sidecars are started by ``ToolContext`` from the manifests' `needs`.
enum BrowserTools {
    /// Tool name -> driver route.
    static let actions: [String: String] = [
        "browser_navigate": "navigate", "browser_click": "click", "browser_type": "type",
        "browser_extract": "extract", "browser_screenshot": "screenshot", "browser_evaluate": "evaluate",
    ]

    static func run(_ invocation: ToolInvocation, context: ToolContext) async throws(SupervisorError) -> InvocationResult {
        let name = invocation.entry.manifest.name
        guard let action = actions[name] else { throw SupervisorError("unknown_tool", "no browser tool named \(name)", status: 404) }
        var arguments = invocation.arguments.objectValue ?? [:]
        var output: (absolute: String, relative: String)?
        if action == "screenshot" {
            let directory = try context.makeOutputDirectory(invocation)
            output = directory
            arguments["path"] = .string("\(directory.absolute)/screenshot.png")
        }
        // The driver answers within the tool's own timeout; ours is the invocation's.
        if arguments["timeoutMs"] == nil {
            arguments["timeoutMs"] = .number(Double(max(1000, Int(invocation.timeout.nanoseconds / 1_000_000) - 500)))
        }
        let body: [UInt8]
        do { body = Array(try JSONEncoder().encode(JSONValue.object(arguments))) } catch {
            throw SupervisorError("invalid_arguments", "arguments could not be encoded", status: 400, underlying: error)
        }
        /// The driver's answer, or `nil` when no driver was there to answer (it went away with
        /// chromium).
        func send() async throws(SupervisorError) -> SimpleHTTPClient.Response? {
            do {
                return try await context.http.send(
                    .unixSocket(context.browserSocket), method: .POST, path: "/v1/\(action)",
                    headers: [("Content-Type", "application/json"), ("traceparent", invocation.trace.traceparent)], body: body,
                    timeout: invocation.timeout + .seconds(1), maxResponseBytes: 4 << 20)
            } catch where ["connect_failed", "http_error"].contains(error.code) {
                return nil
            }
        }
        func browserGone(_ response: SimpleHTTPClient.Response?) -> Bool {
            guard let response else { return true }
            return response.status == 502
                && (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body)))?["code"]?.stringValue == "browser_disconnected"
        }
        // Chromium killed or crashed under the driver: once the supervisor has noticed and
        // restarted both, the call is tried again on the fresh browser (three times at most).
        var answer = try await send()
        if let sidecars = context.sidecars {
            for attempt in 1...3 where browserGone(answer) {
                try? await Task.sleep(for: .milliseconds(250 * attempt))
                try await sidecars.ensureReady(PlatformSidecars.sidecars(for: [.browser]))
                answer = try await send()
            }
        }
        guard let response = answer else {
            throw SupervisorError("connect_failed", "the browser driver did not answer", status: 502)
        }
        let parsed = (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body))) ?? .null
        var result = InvocationResult(id: invocation.id, tool: name, status: .succeeded, output: parsed, traceId: invocation.trace.traceId)
        if !(200..<300).contains(response.status) {
            result.status = .failed
            result.errorCode = parsed["code"]?.stringValue ?? "browser_error"
            if parsed["error"] == nil { result.output = ["error": .string("the browser driver answered HTTP \(response.status)"), "code": .string(result.errorCode ?? "browser_error")] }
        }
        if let output {
            result.artifacts = context.collectArtifacts(relative: output.relative)
            if case .object(var object) = result.output, result.status == .succeeded {
                object["path"] = .string("\(output.relative)/screenshot.png")
                result.output = .object(object)
            }
        }
        return result
    }
}
