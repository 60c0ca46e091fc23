import Foundation
import PersonaKit
import Testing
@testable import Supervisor

/// `http_fetch` over https through curl, against a local TLS server with a throwaway CA.
/// (The same against a real persona container: `PersonaContainerTests.httpsFetch`.)
@Suite("http_fetch over https (curl, certificate verification on)", .serialized)
struct HTTPFetchTests {
    let trace = TraceContext.newRoot()

    static func withServer(_ body: (ToolRunner, TLSTestServer) async throws -> Void) async throws {
        let server = try TLSTestServer(ips: ["127.0.0.1"])
        defer { server.stop() }
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        try await body(runner, server)
    }

    @Test("verification is on: the server's private CA fails with tls_failed, and is trusted once given as caCertificate")
    func verification() async throws {
        try await Self.withServer { runner, server in
            let url = "https://127.0.0.1:\(server.port)/hello"
            let refused = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: ["url": .string(url)]), trace: trace)
            #expect(refused.status == .failed)
            #expect(refused.errorCode == "tls_failed", "\(refused)")
            #expect(refused.output["error"]?.stringValue?.contains("certificate") == true, "\(refused.output)")

            let written = try await runner.invoke(tool: "write_file", request: InvocationRequest(arguments: [
                "path": "certs/ca.pem", "content": .string(server.caPEM)]), trace: trace)
            #expect(written.status == .succeeded)
            let trusted = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string(url), "caCertificate": "certs/ca.pem"]), trace: trace)
            #expect(trusted.status == .succeeded, "\(trusted)")
            #expect(trusted.output["status"]?.intValue == 200)
            #expect(trusted.output["body"]?.stringValue == "hello over tls")
            #expect(trusted.output["encoding"]?.stringValue == "utf8")
            #expect(trusted.output["truncated"]?.boolValue == false)
            #expect(trusted.output["headers"]?.objectValue?["x-test"]?.stringValue == "Yes", "\(trusted.output)")

            // Cut at maxBytes, not failed: a body curl finishes (14 bytes) and one it is killed in (4 MiB).
            let short = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string(url), "caCertificate": "certs/ca.pem", "maxBytes": 5]), trace: trace)
            #expect(short.status == .succeeded)
            #expect(short.output["body"]?.stringValue == "hello")
            #expect(short.output["truncated"]?.boolValue == true)
            let big = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string("https://127.0.0.1:\(server.port)/big"), "caCertificate": "certs/ca.pem", "maxBytes": 1000]), trace: trace)
            #expect(big.status == .succeeded, "\(big)")
            #expect(big.output["body"]?.stringValue == String(repeating: "a", count: 1000))
            #expect(big.output["truncated"]?.boolValue == true)

            // Redirects are returned, not followed (like the plain-HTTP path).
            let redirect = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string("https://127.0.0.1:\(server.port)/redirect"), "caCertificate": "certs/ca.pem"]), trace: trace)
            #expect(redirect.output["status"]?.intValue == 302)
            #expect(redirect.output["headers"]?.objectValue?["location"]?.stringValue == "/hello")

            let outside = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string(url), "caCertificate": "../ca.pem"]), trace: trace)
            #expect(outside.errorCode == "path_outside_workspace")
            let plain = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": "http://127.0.0.1:1/", "caCertificate": "certs/ca.pem"]), trace: trace)
            #expect(plain.errorCode == "validation_failed")
            let refusedPort = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: ["url": "https://127.0.0.1:1/"]),
                                                      trace: trace)
            #expect(refusedPort.errorCode == "unreachable", "\(refusedPort)")
        }
    }

    @Test("POST sends headers, the traceparent and the body, none of them on curl's command line; a slow server ends in timeout")
    func postAndTimeout() async throws {
        try await Self.withServer { runner, server in
            _ = try await runner.invoke(tool: "write_file", request: InvocationRequest(arguments: [
                "path": "ca.pem", "content": .string(server.caPEM)]), trace: trace)
            let secret = "s3cret-\(UUID().uuidString)"
            let body = #"{"q": "a \"quoted\" \\ body", "n": 1}"#
            let posted = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string("https://localhost:\(server.port)/echo"), "method": "POST", "caCertificate": "ca.pem",
                "headers": ["Authorization": .string("Bearer \(secret)"), "X-Empty": ""], "body": .string(body)]), trace: trace)
            #expect(posted.status == .succeeded, "\(posted)")
            let echo = try JSONDecoder().decode(JSONValue.self, from: Data((posted.output["body"]?.stringValue ?? "").utf8))
            #expect(echo["body"]?.stringValue == body)
            let headers = echo["headers"]?.objectValue ?? [:]
            #expect(headers["authorization"]?.stringValue == "Bearer \(secret)")
            #expect(headers["x-empty"]?.stringValue == "")
            #expect(headers["traceparent"]?.stringValue?.contains(trace.traceId) == true, "\(headers)")
            #expect(headers["content-type"] == nil && headers["expect"] == nil, "\(headers)")

            // While a call hangs on the slow path, no process's argv holds the secret.
            async let slow = runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
                "url": .string("https://localhost:\(server.port)/slow"), "caCertificate": "ca.pem",
                "headers": ["Authorization": .string("Bearer \(secret)")]], timeoutMs: 2500), trace: trace)
            try await Task.sleep(for: .milliseconds(1000))
            var sawCurl = false
            var leaked = false
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
                guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
                let argv = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
                if argv.hasPrefix("curl -q --config -") { sawCurl = true }
                if argv.contains(secret) { leaked = true }
            }
            #expect(sawCurl)
            #expect(!leaked)
            let timedOut = try await slow
            #expect(timedOut.status == .failed)
            #expect(timedOut.errorCode == "timeout", "\(timedOut)")
            #expect(timedOut.durationMs < 10_000)
        }
    }

    @Test("plain http keeps its NIO path: status, lowercased headers, truncation at maxBytes, redirects returned")
    func plainHTTP() async throws {
        let server = try TLSTestServer(ips: ["127.0.0.1"], tls: false)
        defer { server.stop() }
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let base = "http://127.0.0.1:\(server.port)"
        let hello = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: ["url": .string(base + "/hello")]), trace: trace)
        #expect(hello.status == .succeeded, "\(hello)")
        #expect(hello.output["status"]?.intValue == 200)
        #expect(hello.output["body"]?.stringValue == "hello over tls")
        #expect(hello.output["headers"]?.objectValue?["x-test"]?.stringValue == "Yes")
        let big = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: [
            "url": .string(base + "/big"), "maxBytes": 1000]), trace: trace)
        #expect(big.output["body"]?.stringValue?.utf8.count == 1000)
        #expect(big.output["truncated"]?.boolValue == true)
        let redirect = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: ["url": .string(base + "/redirect")]),
                                               trace: trace)
        #expect(redirect.output["status"]?.intValue == 302)
        // Other schemes never reach the tool: the schema refuses them.
        await #expect(throws: SupervisorError.self) {
            _ = try await runner.invoke(tool: "http_fetch", request: InvocationRequest(arguments: ["url": "ftp://127.0.0.1/"]), trace: trace)
        }
    }

    @Test("the response head parser skips interim 1xx heads and keeps the body's bytes")
    func parseHead() {
        let raw = Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A:  b \r\nSet-Cookie: c=d\r\n\r\nbody\r\n\r\nmore".utf8)
        let head = HTTPFetchTool.parseHead(raw)
        #expect(head?.status == 200)
        #expect(head?.headers.map { "\($0.0)=\($0.1)" } == ["X-A=b", "Set-Cookie=c=d"])
        #expect(head.map { String(decoding: raw[$0.bodyStart...], as: UTF8.self) } == "body\r\n\r\nmore")
        #expect(HTTPFetchTool.parseHead(Array("HTTP/2 204\r\n\r\n".utf8))?.status == 204)
        #expect(HTTPFetchTool.parseHead(Array("HTTP/1.1 200 OK\r\nX: y\r\n".utf8)) == nil)
        #expect(HTTPFetchTool.seconds(.milliseconds(1500)) == "1.500")
        #expect(HTTPFetchTool.seconds(.seconds(60)) == "60.000")
        #expect(HTTPFetchTool.quoted("a \"b\" \\ c") == #""a \"b\" \\ c""#)
    }
}
