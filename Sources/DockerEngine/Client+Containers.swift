import AsyncHTTPClient
import NIOCore

extension Docker.Client {
    /// Creates a container.
    ///
    /// Maps to `POST /containers/create?name=`.
    /// - Parameters:
    ///   - spec: image, command, labels, limits, mounts, ports, security settings.
    ///   - name: container name; the engine picks one when `nil`.
    /// - Throws: ``DockerError`` `noSuchImage` when the image is missing, `conflict` when the name is taken.
    @discardableResult
    public func createContainer(_ spec: Docker.ContainerSpec, name: String? = nil) async throws -> Docker.CreatedContainer {
        try await post("/containers/create", query: [("name", name)], json: spec, notFound: .noSuchImage)
    }

    /// Starts a container. Starting a running container is not an error.
    ///
    /// Maps to `POST /containers/{id}/start`.
    /// - Returns: `false` when it was already running (the engine's 304).
    /// - Throws: ``DockerError`` `noSuchContainer`; `server` when the process cannot start.
    @discardableResult
    public func startContainer(_ id: String) async throws -> Bool {
        try await perform(.POST, "/containers/\(Self.percentEncode(id))/start", notFound: .noSuchContainer, allowNotModified: true) != 304
    }

    /// Stops a container: its stop signal, then `SIGKILL` after `timeout`.
    ///
    /// Maps to `POST /containers/{id}/stop?t=`.
    /// - Parameter timeout: grace period; the container's `StopTimeout` (default 10 s) when `nil`.
    /// - Returns: `false` when it was already stopped (the engine's 304).
    @discardableResult
    public func stopContainer(_ id: String, timeout: Duration? = nil) async throws -> Bool {
        let seconds = timeout.map { Int(($0.nanoseconds + 999_999_999) / 1_000_000_000) }
        return try await perform(
            .POST, "/containers/\(Self.percentEncode(id))/stop", query: [("t", seconds.map(String.init))],
            notFound: .noSuchContainer, timeout: requestTimeout(plusSeconds: seconds ?? 10),
            allowNotModified: true
        ) != 304
    }

    /// Restarts a container (stop with `timeout`, then start).
    ///
    /// Maps to `POST /containers/{id}/restart?t=`.
    public func restartContainer(_ id: String, timeout: Duration? = nil) async throws {
        let seconds = timeout.map { Int(($0.nanoseconds + 999_999_999) / 1_000_000_000) }
        try await perform(
            .POST, "/containers/\(Self.percentEncode(id))/restart", query: [("t", seconds.map(String.init))],
            notFound: .noSuchContainer, timeout: requestTimeout(plusSeconds: seconds ?? 10)
        )
    }

    /// Sends a signal to a container's main process.
    ///
    /// Maps to `POST /containers/{id}/kill?signal=`.
    /// - Throws: ``DockerError`` `conflict` when the container is not running.
    public func killContainer(_ id: String, signal: String = "SIGKILL") async throws {
        try await perform(.POST, "/containers/\(Self.percentEncode(id))/kill", query: [("signal", signal)], notFound: .noSuchContainer)
    }

    /// Freezes every process of a container.
    ///
    /// Maps to `POST /containers/{id}/pause`.
    public func pauseContainer(_ id: String) async throws {
        try await perform(.POST, "/containers/\(Self.percentEncode(id))/pause", notFound: .noSuchContainer)
    }

    /// Thaws a paused container.
    ///
    /// Maps to `POST /containers/{id}/unpause`.
    public func unpauseContainer(_ id: String) async throws {
        try await perform(.POST, "/containers/\(Self.percentEncode(id))/unpause", notFound: .noSuchContainer)
    }

    /// Removes a container.
    ///
    /// Maps to `DELETE /containers/{id}?force=&v=`.
    /// - Parameters:
    ///   - force: kill it first if it runs.
    ///   - volumes: also remove its anonymous volumes.
    /// - Throws: ``DockerError`` `noSuchContainer`; `conflict` when it runs and `force` is false.
    public func removeContainer(_ id: String, force: Bool = false, volumes: Bool = false) async throws {
        try await perform(
            .DELETE, "/containers/\(Self.percentEncode(id))",
            query: [("force", force ? "1" : nil), ("v", volumes ? "1" : nil)], notFound: .noSuchContainer
        )
    }

    /// Low-level information on a container: state, config, host config, network settings.
    ///
    /// Maps to `GET /containers/{id}/json`.
    /// - Throws: ``DockerError`` `noSuchContainer`.
    public func inspectContainer(_ id: String) async throws -> Docker.ContainerInspect {
        try await get("/containers/\(Self.percentEncode(id))/json", notFound: .noSuchContainer)
    }

    /// Lists containers.
    ///
    /// Maps to `GET /containers/json?all=&filters=`.
    /// - Parameters:
    ///   - all: include stopped containers.
    ///   - filters: e.g. `.label("io.persona.managed-by", "control-plane")`, `status`, `name`, `id`.
    public func listContainers(all: Bool = true, filters: Docker.Filters = [:]) async throws -> [Docker.ContainerSummary] {
        try await get("/containers/json", query: [("all", all ? "1" : "0"), ("filters", filters.queryValue)])
    }

    /// Waits until a container reaches `condition` and returns its exit code.
    ///
    /// Maps to `POST /containers/{id}/wait?condition=`. There is no timeout: cancel the
    /// task to stop waiting. To wait for an exit without missing it, use
    /// ``beginWait(_:condition:)`` before starting the container.
    /// - Throws: ``DockerError`` `noSuchContainer`; `engineUnreachable` when the connection drops.
    public func waitContainer(_ id: String, condition: Docker.WaitCondition = .notRunning) async throws -> Docker.WaitResult {
        try await beginWait(id, condition: condition).result()
    }

    /// Registers a wait and returns once the engine has accepted it (its answer's head
    /// arrived), so an exit that happens afterwards cannot be missed.
    ///
    /// Maps to `POST /containers/{id}/wait?condition=`.
    public func beginWait(_ id: String, condition: Docker.WaitCondition = .nextExit) async throws -> Docker.ContainerWait {
        let path = "/containers/\(Self.percentEncode(id))/wait"
        let response = try await send(.POST, path, query: [("condition", condition.rawValue)], notFound: .noSuchContainer)
        return Docker.ContainerWait(client: self, response: response)
    }

    func requestTimeout(plusSeconds seconds: Int) -> TimeAmount {
        configuration.requestTimeout + .seconds(Int64(seconds))
    }
}

extension Docker {
    /// A wait the engine has accepted; ``result()`` returns when the condition is met.
    public struct ContainerWait: Sendable {
        let client: Client
        let response: HTTPClientResponse

        /// The container's exit code once the condition is met.
        /// - Throws: ``DockerError`` `engineUnreachable` when the connection drops, `server`
        ///   when the engine reports an error while waiting.
        public func result() async throws -> WaitResult {
            let body = try await client.collect(response)
            let result = try Client.decode(WaitResult.self, from: body, while: "POST /containers/{id}/wait")
            if let message = result.error?.message, !message.isEmpty {
                throw DockerError(.server, "waiting for the container failed: \(message)")
            }
            return result
        }
    }
}
