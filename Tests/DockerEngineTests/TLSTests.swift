import DockerEngine
import Foundation
import Testing

/// The engine's mutual-TLS listener on loopback, which `scripts/docker-up` adds to the
/// dockerd it starts (not to an engine it merely reuses, hence the condition).
private let tlsHost = ProcessInfo.processInfo.environment["DOCKER_TLS_TEST_HOST"]
private let tlsCertPath = ProcessInfo.processInfo.environment["DOCKER_TLS_TEST_CERT_PATH"]

@Suite(
    "tcp:// with TLS against the real engine",
    .enabled(if: tlsHost != nil && tlsCertPath != nil, "needs DOCKER_TLS_TEST_HOST and DOCKER_TLS_TEST_CERT_PATH from scripts/docker-up")
)
struct TLSTests {
    private func endpoint(verify: Bool = true) throws -> Docker.Endpoint {
        try Docker.Endpoint.fromEnvironment([
            "DOCKER_HOST": tlsHost ?? "",
            "DOCKER_TLS_VERIFY": verify ? "1" : "",
            "DOCKER_CERT_PATH": tlsCertPath ?? "",
        ])
    }

    @Test("with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH the client pings, runs a container and execs over TLS")
    func mutualTLS() async throws {
        let client = try await Docker.Client.connect(to: try endpoint())
        do {
            #expect(try await client.ping().apiVersion != nil)
            try await TestEngine.withContainer(client, command: TestEngine.chattyIdle) { id in
                try await client.startContainer(id)
                let result = try await client.exec(["sh", "-c", "echo over-tls; echo err >&2"], in: id)
                #expect(result.exitCode == 0)
                #expect(result.stdout == "over-tls\n")
                #expect(result.stderr == "err\n")
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test("without a client certificate the engine refuses the connection: engineUnreachable")
    func noClientCertificate() async throws {
        let directory = try #require(tlsCertPath)
        let files = Docker.TLSFiles(caPath: "\(directory)/ca.pem", certificatePath: "/nonexistent/cert.pem", keyPath: "/nonexistent/key.pem")
        let endpoint = try Docker.Endpoint.parse(try #require(tlsHost), tls: files)
        let error = await #expect(throws: DockerError.self) { _ = try await Docker.Client.connect(to: endpoint) }
        #expect(error?.code == .engineUnreachable)
        let cause = String(reflecting: error?.underlying)
        #expect(cause.contains("CERTIFICATE"), "a TLS failure, not some other one")
    }

    @Test("an engine certificate not signed by the given CA is refused when verifying")
    func wrongCertificateAuthority() async throws {
        let directory = try #require(tlsCertPath)
        // The system's public roots did not sign the test CA.
        let files = Docker.TLSFiles(
            caPath: "/etc/ssl/certs/ca-certificates.crt", certificatePath: "\(directory)/cert.pem", keyPath: "\(directory)/key.pem"
        )
        let endpoint = try Docker.Endpoint.parse(try #require(tlsHost), tls: files)
        let error = await #expect(throws: DockerError.self) { _ = try await Docker.Client.connect(to: endpoint) }
        #expect(error?.code == .engineUnreachable)
        let cause = String(reflecting: error?.underlying)
        #expect(cause.contains("CERTIFICATE"), "a TLS failure, not some other one")
    }
}
