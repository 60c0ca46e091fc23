import DockerEngine
import Foundation
import Testing

@Suite("engine errors become typed DockerErrors")
struct ErrorTests {
    @Test("inspecting a missing container throws noSuchContainer with the engine's message")
    func missingContainer() async throws {
        try await TestEngine.withClient { client in
            let error = try await #require(throws: DockerError.self) {
                try await client.inspectContainer("persona-test-does-not-exist")
            }
            #expect(error.code == .noSuchContainer)
            #expect(error.statusCode == 404)
            #expect(error.message.contains("persona-test-does-not-exist"))
        }
    }

    @Test("creating a container from a missing image throws noSuchImage")
    func missingImage() async throws {
        try await TestEngine.withClient { client in
            let error = try await #require(throws: DockerError.self) {
                try await client.createContainer(Docker.ContainerSpec(image: "persona-test/missing:never", labels: [TestEngine.testLabel: "1"]))
            }
            #expect(error.code == .noSuchImage)
        }
    }

    @Test("a second container with the same name throws conflict")
    func nameConflict() async throws {
        try await TestEngine.withClient { client in
            let name = "persona-test-\(UUID().uuidString.prefix(8).lowercased())"
            let spec = Docker.ContainerSpec(image: TestEngine.baseImage, command: ["true"], labels: [TestEngine.testLabel: "1"])
            let first = try await client.createContainer(spec, name: name)
            let second = await #expect(throws: DockerError.self) {
                try await client.createContainer(spec, name: name)
            }
            try await client.removeContainer(first.id, force: true)
            #expect(second?.code == .conflict)
        }
    }

    @Test("connecting to a socket nobody listens on throws engineUnreachable")
    func unreachable() async throws {
        let error = try await #require(throws: DockerError.self) {
            _ = try await Docker.Client.connect(to: .unixSocket(path: "/tmp/persona-no-such-dir/docker.sock"))
        }
        #expect(error.code == .engineUnreachable)
        #expect(error.underlying != nil)
        #expect(error.message.contains("/tmp/persona-no-such-dir/docker.sock"))
    }

    @Test("a request on a client that speaks to a dead socket throws engineUnreachable")
    func unreachableRequest() async throws {
        let client = try Docker.Client(endpoint: .unixSocket(path: "/tmp/persona-no-such-dir/docker.sock"), apiVersion: .minimum)
        let error = await #expect(throws: DockerError.self) {
            _ = try await client.listContainers()
        }
        try await client.shutdown()
        #expect(error?.code == .engineUnreachable)
    }
}
