import DockerEngine
import Foundation
import Testing

@Suite("networks and volumes against the real engine")
struct NetworkVolumeTests {
    @Test("a labelled network is created, joined by a container, listed, left and removed")
    func networkLifecycle() async throws {
        try await TestEngine.withClient { client in
            let name = "persona-test-\(UUID().uuidString.prefix(8).lowercased())"
            let id = try await client.createNetwork(Docker.NetworkSpec(name: name, internal: true, labels: [TestEngine.testLabel: "1"]))
            do {
                let duplicate = await #expect(throws: DockerError.self) {
                    try await client.createNetwork(Docker.NetworkSpec(name: name))
                }
                #expect(duplicate?.code == .conflict)
                let network = try await client.inspectNetwork(name)
                #expect(network.id == id)
                #expect(network.internal == true)
                #expect(try await client.listNetworks(filters: .label(TestEngine.testLabel, "1")).contains { $0.id == id })
                try await TestEngine.withContainer(client, command: TestEngine.chattyIdle) { container in
                    try await client.startContainer(container)
                    try await client.connectNetwork(name, container: container, aliases: ["persona-alias"])
                    let joined = try await client.inspectContainer(container)
                    #expect(joined.networkSettings?.networks?[name]?.aliases?.contains("persona-alias") == true)
                    #expect(try await client.inspectNetwork(id).containers?[container] != nil)
                    try await client.disconnectNetwork(name, container: container)
                    #expect(try await client.inspectNetwork(id).containers?[container] == nil)
                }
            } catch {
                try? await client.removeNetwork(id)
                throw error
            }
            try await client.removeNetwork(id)
            let error = await #expect(throws: DockerError.self) { try await client.inspectNetwork(id) }
            #expect(error?.code == .noSuchNetwork)
        }
    }

    @Test("a labelled volume is created, inspected, listed and removed")
    func volumeLifecycle() async throws {
        try await TestEngine.withClient { client in
            let name = "persona-test-\(UUID().uuidString.prefix(8).lowercased())"
            let created = try await client.createVolume(Docker.VolumeSpec(name: name, labels: [TestEngine.testLabel: "1"]))
            #expect(created.name == name)
            #expect(try await client.inspectVolume(name).labels?[TestEngine.testLabel] == "1")
            #expect(try await client.listVolumes(filters: .label(TestEngine.testLabel, "1")).contains { $0.name == name })
            try await client.removeVolume(name)
            let error = await #expect(throws: DockerError.self) { try await client.inspectVolume(name) }
            #expect(error?.code == .noSuchVolume)
        }
    }
}
