import DockerEngine
import Testing

@Suite("system routes against the real engine")
struct SystemTests {
    @Test("ping answers and reports an API version of at least 1.41")
    func ping() async throws {
        try await TestEngine.withClient { client in
            let ping = try await client.ping()
            let version = try #require(ping.apiVersion)
            #expect(version >= .minimum)
            #expect(ping.osType == "linux")
        }
    }

    @Test("connect negotiates the lower of the engine's and the client's API versions")
    func negotiation() async throws {
        try await TestEngine.withClient { client in
            let version = try await client.version()
            let engine = try #require(Docker.APIVersion(version.apiVersion))
            #expect(client.apiVersion == min(engine, .maximum))
            #expect(!version.version.isEmpty)
        }
    }

    @Test("info reports the engine's resources")
    func info() async throws {
        try await TestEngine.withClient { client in
            let info = try await client.info()
            #expect((info.ncpu ?? 0) >= 1)
            #expect((info.memTotal ?? 0) > 0)
            #expect(info.serverVersion?.isEmpty == false)
        }
    }
}
