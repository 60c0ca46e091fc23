import Foundation

extension Docker {
    /// What `logs` returns.
    public struct LogOptions: Sendable, Hashable {
        public var stdout: Bool
        public var stderr: Bool
        /// Keep the stream open and deliver new output until the container stops (`follow`).
        public var follow: Bool
        /// Prefix each line with an RFC 3339 timestamp (`timestamps`).
        public var timestamps: Bool
        /// Only the last lines (`tail`); all when `nil`.
        public var tail: Int?
        /// Only output after this time (`since`).
        public var since: Date?

        public init(stdout: Bool = true, stderr: Bool = true, follow: Bool = false, timestamps: Bool = false, tail: Int? = nil, since: Date? = nil) {
            self.stdout = stdout
            self.stderr = stderr
            self.follow = follow
            self.timestamps = timestamps
            self.tail = tail
            self.since = since
        }
    }
}

extension Docker.Client {
    /// A container's output as a stream of stdout/stderr chunks; with `follow`, it goes on
    /// until the container stops or the task is cancelled.
    ///
    /// Maps to `GET /containers/{id}/logs` (after `GET /containers/{id}/json`, to learn whether
    /// the container has a TTY and so whether the stream is multiplexed).
    /// - Throws: ``DockerError`` `noSuchContainer`.
    public func logs(_ id: String, options: Docker.LogOptions = Docker.LogOptions()) async throws -> Docker.OutputSequence {
        let tty = try await inspectContainer(id).config.tty ?? false
        let path = "/containers/\(Self.percentEncode(id))/logs"
        let query: [(String, String?)] = [
            ("stdout", options.stdout ? "1" : "0"),
            ("stderr", options.stderr ? "1" : "0"),
            ("follow", options.follow ? "1" : "0"),
            ("timestamps", options.timestamps ? "1" : "0"),
            ("tail", options.tail.map(String.init) ?? "all"),
            ("since", options.since.map { String(format: "%.9f", $0.timeIntervalSince1970) }),
        ]
        let response = try await send(.GET, path, query: query, notFound: .noSuchContainer)
        return Docker.OutputSequence(client: self, body: response.body, multiplexed: !tty, context: "GET \(path)")
    }

    /// A container's output so far, stdout and stderr kept apart.
    ///
    /// Maps to `GET /containers/{id}/logs?follow=0`.
    public func collectLogs(_ id: String, tail: Int? = nil) async throws -> Docker.Output {
        try await logs(id, options: Docker.LogOptions(tail: tail)).collect()
    }
}
