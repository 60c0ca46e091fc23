extension Docker {
    /// A command to run in a running container (`POST /containers/{id}/exec` body).
    public struct ExecSpec: Encodable, Sendable, Hashable {
        public var command: [String]
        /// `KEY=value` pairs added to the container's environment.
        public var environment: [String: String]
        /// `user`, `uid` or `uid:gid`; the container's user when `nil`.
        public var user: String?
        public var workingDirectory: String?
        public var tty: Bool
        public var attachStdout: Bool
        public var attachStderr: Bool

        public init(
            _ command: [String],
            environment: [String: String] = [:],
            user: String? = nil,
            workingDirectory: String? = nil,
            tty: Bool = false,
            attachStdout: Bool = true,
            attachStderr: Bool = true
        ) {
            self.command = command
            self.environment = environment
            self.user = user
            self.workingDirectory = workingDirectory
            self.tty = tty
            self.attachStdout = attachStdout
            self.attachStderr = attachStderr
        }

        enum CodingKeys: String, CodingKey {
            case command = "Cmd", environment = "Env", user = "User", workingDirectory = "WorkingDir", tty = "Tty"
            case attachStdout = "AttachStdout", attachStderr = "AttachStderr", attachStdin = "AttachStdin"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(command, forKey: .command)
            try container.encode(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, forKey: .environment)
            try container.encodeIfPresent(user, forKey: .user)
            try container.encodeIfPresent(workingDirectory, forKey: .workingDirectory)
            try container.encode(tty, forKey: .tty)
            try container.encode(attachStdout, forKey: .attachStdout)
            try container.encode(attachStderr, forKey: .attachStderr)
            try container.encode(false, forKey: .attachStdin)
        }
    }

    /// `GET /exec/{id}/json`.
    public struct ExecInspect: Codable, Sendable, Hashable {
        public var id: String
        public var containerID: String?
        public var running: Bool
        /// `nil` while the command runs.
        public var exitCode: Int?
        public var pid: Int?

        enum CodingKeys: String, CodingKey {
            case id = "ID", containerID = "ContainerID", running = "Running", exitCode = "ExitCode", pid = "Pid"
        }
    }

    /// What a finished exec gives back.
    public struct ExecResult: Sendable, Hashable {
        public var exitCode: Int
        public var output: Output

        /// stdout as UTF-8 text.
        public var stdout: String { output.stdoutText }
        /// stderr as UTF-8 text.
        public var stderr: String { output.stderrText }
    }
}
