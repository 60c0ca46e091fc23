extension Docker.Client {
    /// One resource-usage sample of a container.
    ///
    /// Maps to `GET /containers/{id}/stats?stream=false&one-shot=`.
    /// - Parameter oneShot: answer at once, without the previous sample that
    ///   ``Docker/ContainerStats/cpuPercent`` needs; otherwise the engine takes about a second.
    /// - Throws: ``DockerError`` `noSuchContainer`.
    public func stats(_ id: String, oneShot: Bool = true) async throws -> Docker.ContainerStats {
        try await get(
            "/containers/\(Self.percentEncode(id))/stats",
            query: [("stream", "0"), ("one-shot", oneShot ? "1" : "0")],
            notFound: .noSuchContainer
        )
    }

    /// Resource-usage samples of a container, about one per second, until it stops or the
    /// task is cancelled.
    ///
    /// Maps to `GET /containers/{id}/stats?stream=true`.
    public func streamStats(_ id: String) async throws -> Docker.JSONLineSequence<Docker.ContainerStats> {
        let path = "/containers/\(Self.percentEncode(id))/stats"
        let response = try await send(.GET, path, query: [("stream", "1")], notFound: .noSuchContainer)
        return Docker.JSONLineSequence(client: self, body: response.body, context: "GET \(path)")
    }
}
