extension Docker.Client {
    private struct IDResponse: Decodable {
        var id: String
        enum CodingKeys: String, CodingKey { case id = "Id" }
    }

    private struct ExecStart: Encodable {
        var detach: Bool
        var tty: Bool
        enum CodingKeys: String, CodingKey { case detach = "Detach", tty = "Tty" }
    }

    /// Prepares a command to run in a running container; returns the exec id.
    ///
    /// Maps to `POST /containers/{id}/exec`.
    /// - Throws: ``DockerError`` `noSuchContainer`; `conflict` when the container is not running.
    public func createExec(in containerID: String, _ spec: Docker.ExecSpec) async throws -> String {
        let created: IDResponse = try await post(
            "/containers/\(Self.percentEncode(containerID))/exec", json: spec, notFound: .noSuchContainer
        )
        return created.id
    }

    /// Starts a prepared exec and streams its output until the command exits.
    ///
    /// Maps to `POST /exec/{id}/start` with `Detach: false` and no `Upgrade` header: the
    /// engine takes over the connection and writes the (multiplexed unless `tty`) output
    /// as the response body, closing it when the command ends.
    /// - Throws: ``DockerError`` `noSuchExec`; `conflict` when the container stopped.
    public func startExec(_ execID: String, tty: Bool = false) async throws -> Docker.OutputSequence {
        let path = "/exec/\(Self.percentEncode(execID))/start"
        let response = try await send(.POST, path, body: .json(ExecStart(detach: false, tty: tty)), notFound: .noSuchExec)
        return Docker.OutputSequence(client: self, body: response.body, multiplexed: !tty, context: "POST \(path)")
    }

    /// Starts a prepared exec in the background; follow it with ``inspectExec(_:)``.
    ///
    /// Maps to `POST /exec/{id}/start` with `Detach: true`.
    public func startExecDetached(_ execID: String) async throws {
        try await perform(.POST, "/exec/\(Self.percentEncode(execID))/start", json: ExecStart(detach: true, tty: false), notFound: .noSuchExec)
    }

    /// State and exit code of an exec.
    ///
    /// Maps to `GET /exec/{id}/json`.
    public func inspectExec(_ execID: String) async throws -> Docker.ExecInspect {
        try await get("/exec/\(Self.percentEncode(execID))/json", notFound: .noSuchExec)
    }

    /// Runs a command in a running container and returns its exit code and output.
    ///
    /// Maps to `POST /containers/{id}/exec`, `POST /exec/{id}/start`, then `GET /exec/{id}/json`.
    /// - Throws: ``DockerError`` `noSuchContainer`, `conflict` (container not running).
    public func exec(_ command: [String], in containerID: String, environment: [String: String] = [:], user: String? = nil, workingDirectory: String? = nil) async throws -> Docker.ExecResult {
        let spec = Docker.ExecSpec(command, environment: environment, user: user, workingDirectory: workingDirectory)
        let execID = try await createExec(in: containerID, spec)
        let output = try await startExec(execID).collect()
        // The stream closes as the process exits; the engine records the exit code
        // right after, so a first inspect can, rarely, still see it running.
        var delay = Duration.milliseconds(2)
        for _ in 0..<40 {
            let state = try await inspectExec(execID)
            if !state.running, let exitCode = state.exitCode {
                return Docker.ExecResult(exitCode: exitCode, output: output)
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(100))
        }
        throw DockerError(.server, "exec \(execID) output ended but the engine still reports it running")
    }
}
