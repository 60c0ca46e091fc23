import NIOCore

extension Docker.Client {
    /// Checks that the engine answers.
    ///
    /// Maps to `GET /_ping`.
    /// - Throws: ``DockerError`` `engineUnreachable` when nothing answers.
    public func ping() async throws -> Docker.PingResult {
        let response = try await send(.GET, "/_ping", versioned: false)
        let body = try await collect(response)
        guard String(buffer: body) == "OK" else {
            throw DockerError(.invalidResponse, "GET /_ping answered \(String(buffer: body).prefix(100))")
        }
        return Docker.PingResult(
            apiVersion: response.headers.first(name: "API-Version").flatMap(Docker.APIVersion.init),
            osType: response.headers.first(name: "OSType"),
            builderVersion: response.headers.first(name: "Builder-Version")
        )
    }

    /// The engine's version and the API versions it speaks.
    ///
    /// Maps to `GET /version`.
    public func version() async throws -> Docker.VersionInfo {
        try await get("/version")
    }

    /// System-wide information: counts, storage driver, cgroup setup, memory, CPUs.
    ///
    /// Maps to `GET /info`.
    public func info() async throws -> Docker.SystemInfo {
        try await get("/info")
    }
}
