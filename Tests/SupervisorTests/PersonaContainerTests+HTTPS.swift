import Foundation
import PersonaKit
import Testing
@testable import Supervisor

extension PersonaContainerTests {
    /// The container's default gateway (the host, on Docker's bridge), from `/proc/net/route`.
    static func gateway(of persona: Persona) async throws -> String {
        let routes = try await persona.invoke("shell", InvocationRequest(arguments: ["command": "cat /proc/net/route"]))
        for line in (routes.output["stdout"]?.stringValue ?? "").split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count > 2, fields[1] == "00000000", let hex = UInt32(fields[2], radix: 16) else { continue }
            // Little-endian hex of the address.
            return (0..<4).map { String((hex >> (8 * $0)) & 0xff) }.joined(separator: ".")
        }
        throw SupervisorError("test", "no default route in the container: \(routes.output)")
    }

    @Test("http_fetch speaks https from the real image: verification on (tls_failed without the CA), caCertificate from the workspace, maxBytes truncation, timeout")
    func httpsFetch() async throws {
        try await Self.withPersona { _, persona in
            let host = try await Self.gateway(of: persona)
            let server = try TLSTestServer(ips: [host, "127.0.0.1"])
            defer { server.stop() }
            let base = "https://\(host):\(server.port)"

            let refused = try await persona.invoke("http_fetch", InvocationRequest(arguments: ["url": .string(base + "/hello")]))
            #expect(refused.status == .failed)
            #expect(refused.errorCode == "tls_failed", "\(refused)")

            let written = try await persona.invoke("write_file", InvocationRequest(arguments: [
                "path": "certs/test-ca.pem", "content": .string(server.caPEM)]))
            #expect(written.status == .succeeded, "\(written)")
            let trusted = try await persona.invoke("http_fetch", InvocationRequest(arguments: [
                "url": .string(base + "/hello"), "caCertificate": "certs/test-ca.pem"]))
            #expect(trusted.status == .succeeded, "\(trusted)")
            #expect(trusted.output["status"]?.intValue == 200)
            #expect(trusted.output["body"]?.stringValue == "hello over tls")
            #expect(trusted.output["headers"]?.objectValue?["x-test"]?.stringValue == "Yes")
            #expect(trusted.output["truncated"]?.boolValue == false)

            let big = try await persona.invoke("http_fetch", InvocationRequest(arguments: [
                "url": .string(base + "/big"), "caCertificate": "certs/test-ca.pem", "maxBytes": 4096]))
            #expect(big.status == .succeeded, "\(big)")
            #expect(big.output["truncated"]?.boolValue == true)
            #expect(big.output["body"]?.stringValue?.utf8.count == 4096)

            let slow = try await persona.invoke("http_fetch", InvocationRequest(arguments: [
                "url": .string(base + "/slow"), "caCertificate": "certs/test-ca.pem"], timeoutMs: 2000))
            #expect(slow.status == .failed)
            #expect(slow.errorCode == "timeout", "\(slow)")
            #expect(slow.durationMs < 10_000)

            // curl ran as the tool user and left no temporary files behind.
            let leftovers = try await persona.invoke("shell", InvocationRequest(arguments: ["command": "ls -A /tmp | grep -c persona-fetch || true"]))
            #expect(leftovers.output["stdout"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(leftovers.output)")
        }
    }
}
