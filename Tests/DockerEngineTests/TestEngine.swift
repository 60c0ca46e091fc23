import DockerEngine
import Foundation
import Testing

/// The real engine the integration tests talk to: `DOCKER_SOCKET_PATH` (or `DOCKER_HOST`),
/// started by `scripts/docker-up`. These tests fail, never skip, when it does not answer.
enum TestEngine {
    static let baseImage = "debian:bookworm-slim"
    static let testLabel = "io.persona.test"

    static var endpoint: Docker.Endpoint {
        get throws { try Docker.Endpoint.fromEnvironment() }
    }

    /// Runs `body` with a connected client and always shuts it down.
    static func withClient<T>(_ body: (Docker.Client) async throws -> T) async throws -> T {
        let endpoint = try self.endpoint
        let client: Docker.Client
        do {
            client = try await Docker.Client.connect(to: endpoint)
        } catch {
            throw EngineNotReachable(endpoint: endpoint, error: error)
        }
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Creates a container labelled `io.persona.test=1` (plus `run` as `io.persona.test.run`),
    /// runs `body`, and removes the container whatever happened.
    static func withContainer<T>(
        _ client: Docker.Client,
        command: [String],
        run: String = UUID().uuidString,
        configure: (inout Docker.ContainerSpec) -> Void = { _ in },
        _ body: (String) async throws -> T
    ) async throws -> T {
        var spec = Docker.ContainerSpec(
            image: baseImage,
            command: command,
            labels: [testLabel: "1", "\(testLabel).run": run],
            stopTimeout: 2
        )
        configure(&spec)
        let id = try await client.createContainer(spec).id
        do {
            let result = try await body(id)
            try await client.removeContainer(id, force: true, volumes: true)
            return result
        } catch {
            try? await client.removeContainer(id, force: true, volumes: true)
            throw error
        }
    }

    /// A shell command that logs one line to each stream and then idles until stopped.
    static let chattyIdle = ["sh", "-c", "echo to-stdout; echo to-stderr >&2; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
}

struct EngineNotReachable: Error, CustomStringConvertible {
    var endpoint: Docker.Endpoint
    var error: any Error
    var description: String {
        "No Docker engine answers at \(endpoint) (\(error)). Start one with `eval \"$(scripts/docker-up)\"`; "
            + "these tests need the real engine and the local \(TestEngine.baseImage) image."
    }
}
