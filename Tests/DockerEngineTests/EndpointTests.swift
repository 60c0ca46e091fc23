@testable import DockerEngine
import Testing

@Suite("endpoint configuration")
struct EndpointTests {
    @Test("DOCKER_HOST forms parse to unix and tcp endpoints")
    func parsing() throws {
        #expect(try Docker.Endpoint.parse("unix:///run/docker.sock") == .unixSocket(path: "/run/docker.sock"))
        #expect(try Docker.Endpoint.parse("/var/run/docker.sock") == .unixSocket(path: "/var/run/docker.sock"))
        #expect(try Docker.Endpoint.parse("tcp://10.0.0.2:2375") == .tcp(host: "10.0.0.2", port: 2375, tls: nil))
        #expect(try Docker.Endpoint.parse("tcp://docker.internal") == .tcp(host: "docker.internal", port: 2375, tls: nil))
        #expect(try Docker.Endpoint.parse("tcp://[::1]:2380") == .tcp(host: "::1", port: 2380, tls: nil))
        #expect(throws: DockerError.self) { try Docker.Endpoint.parse("ssh://user@host") }
        #expect(throws: DockerError.self) { try Docker.Endpoint.parse("tcp://host:notaport") }
    }

    @Test("the environment picks DOCKER_HOST, then DOCKER_SOCKET_PATH, then the default socket")
    func environment() throws {
        #expect(try Docker.Endpoint.fromEnvironment([:]) == .unixSocket(path: "/var/run/docker.sock"))
        #expect(try Docker.Endpoint.fromEnvironment(["DOCKER_SOCKET_PATH": "/tmp/d.sock"]) == .unixSocket(path: "/tmp/d.sock"))
        #expect(
            try Docker.Endpoint.fromEnvironment(["DOCKER_SOCKET_PATH": "/tmp/d.sock", "DOCKER_HOST": "tcp://h:1"])
                == .tcp(host: "h", port: 1, tls: nil)
        )
    }

    @Test("TLS settings follow the docker CLI: certificates from DOCKER_CERT_PATH, verification from DOCKER_TLS_VERIFY")
    func tls() throws {
        let verified = try Docker.Endpoint.fromEnvironment(["DOCKER_HOST": "tcp://h", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"])
        #expect(verified == .tcp(host: "h", port: 2376, tls: Docker.TLSFiles(directory: "/certs", verifyServer: true)))
        let unverified = try Docker.Endpoint.fromEnvironment(["DOCKER_HOST": "tcp://h:2376", "DOCKER_CERT_PATH": "/certs"])
        #expect(unverified == .tcp(host: "h", port: 2376, tls: Docker.TLSFiles(caPath: "/certs/ca.pem", certificatePath: "/certs/cert.pem", keyPath: "/certs/key.pem", verifyServer: false)))
        let home = try Docker.Endpoint.fromEnvironment(["DOCKER_HOST": "tcp://h", "DOCKER_TLS_VERIFY": "1", "HOME": "/home/op"])
        #expect(home == .tcp(host: "h", port: 2376, tls: Docker.TLSFiles(directory: "/home/op/.docker")))
    }

    @Test("a TLS endpoint whose certificates are missing is an invalidConfiguration error")
    func missingCertificates() {
        let error = #expect(throws: DockerError.self) {
            _ = try Docker.Client(endpoint: .tcp(host: "127.0.0.1", port: 2376, tls: Docker.TLSFiles(directory: "/nonexistent")), apiVersion: .minimum)
        }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test("API versions compare numerically")
    func versions() {
        #expect(Docker.APIVersion("1.9")! < Docker.APIVersion("1.41")!)
        #expect(Docker.APIVersion("1.41") == .minimum)
        #expect(Docker.APIVersion("v1.41") == nil)
    }

    @Test("the event cursor delivers each event once across a resume at the same nanosecond")
    func eventCursor() {
        func event(_ action: String, _ id: String, _ nano: Int64) -> Docker.Event {
            Docker.Event(type: "container", action: action, actor: .init(id: id), scope: "local", time: nano / 1_000_000_000, timeNano: nano)
        }
        var cursor = Docker.EventStream.Cursor()
        let delivered1 = cursor.deliver(event("create", "a", 1_700_000_000_000_000_005))
        #expect(delivered1)
        let delivered2 = cursor.deliver(event("start", "a", 1_700_000_000_000_000_005))
        #expect(delivered2)
        #expect(cursor.since == "1700000000.000000005")
        // The engine's `since` is inclusive: a resume replays both; neither is delivered again.
        let delivered3 = cursor.deliver(event("create", "a", 1_700_000_000_000_000_005))
        #expect(!delivered3)
        let delivered4 = cursor.deliver(event("start", "a", 1_700_000_000_000_000_005))
        #expect(!delivered4)
        let delivered5 = cursor.deliver(event("create", "z", 1_600_000_000_000_000_000))
        #expect(!delivered5)
        let delivered6 = cursor.deliver(event("die", "a", 1_700_000_000_100_000_000))
        #expect(delivered6)
        #expect(cursor.since == "1700000000.100000000")
    }
}
