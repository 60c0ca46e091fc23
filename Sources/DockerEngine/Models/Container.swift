extension Docker {
    /// Answer of `POST /containers/create`.
    public struct CreatedContainer: Codable, Sendable, Hashable {
        public var id: String
        public var warnings: [String]?
        enum CodingKeys: String, CodingKey { case id = "Id", warnings = "Warnings" }
    }

    /// `GET /containers/{id}/json` (the fields this project uses).
    public struct ContainerInspect: Codable, Sendable {
        public var id: String
        /// Name with its leading slash, as the engine keeps it (`/persona-1`).
        public var name: String
        /// RFC 3339 creation time with nanoseconds.
        public var created: String?
        public var image: String?
        public var restartCount: Int?
        public var state: ContainerState
        public var config: ContainerConfig
        public var hostConfig: HostConfig?
        public var networkSettings: NetworkSettings?
        public var mounts: [MountPoint]?

        enum CodingKeys: String, CodingKey {
            case id = "Id", name = "Name", created = "Created", image = "Image", restartCount = "RestartCount"
            case state = "State", config = "Config", hostConfig = "HostConfig"
            case networkSettings = "NetworkSettings", mounts = "Mounts"
        }
    }

    /// `State` of an inspected container.
    public struct ContainerState: Codable, Sendable, Hashable {
        /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
        public var status: String
        public var running: Bool
        public var paused: Bool
        public var restarting: Bool
        public var oomKilled: Bool
        public var dead: Bool
        public var pid: Int
        public var exitCode: Int
        public var error: String?
        public var startedAt: String?
        public var finishedAt: String?
        public var health: Health?

        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", paused = "Paused", restarting = "Restarting"
            case oomKilled = "OOMKilled", dead = "Dead", pid = "Pid", exitCode = "ExitCode", error = "Error"
            case startedAt = "StartedAt", finishedAt = "FinishedAt", health = "Health"
        }

        /// `State.Health`.
        public struct Health: Codable, Sendable, Hashable {
            /// `starting`, `healthy` or `unhealthy`.
            public var status: String
            public var failingStreak: Int?
            enum CodingKeys: String, CodingKey { case status = "Status", failingStreak = "FailingStreak" }
        }
    }

    /// `Config` of an inspected container.
    public struct ContainerConfig: Codable, Sendable, Hashable {
        public var image: String?
        public var cmd: [String]?
        public var entrypoint: [String]?
        public var env: [String]?
        public var labels: [String: String]?
        public var user: String?
        public var workingDir: String?
        public var hostname: String?
        public var tty: Bool?

        enum CodingKeys: String, CodingKey {
            case image = "Image", cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", labels = "Labels"
            case user = "User", workingDir = "WorkingDir", hostname = "Hostname", tty = "Tty"
        }
    }

    /// `NetworkSettings` of an inspected container.
    public struct NetworkSettings: Codable, Sendable, Hashable {
        /// Published ports: `"7070/tcp"` to the host addresses the engine bound (`nil` when exposed only).
        public var ports: [String: [PortBinding]?]?
        public var networks: [String: EndpointSettings]?

        enum CodingKeys: String, CodingKey { case ports = "Ports", networks = "Networks" }

        /// The host port a container port (`"7070/tcp"`) is published on, if any.
        public func hostPort(for containerPort: String) -> Int? {
            ports?[containerPort]??.lazy.compactMap { $0.hostPort.flatMap(Int.init) }.first
        }
    }

    /// An entry of `Mounts` in an inspected container.
    public struct MountPoint: Codable, Sendable, Hashable {
        public var type: String?
        public var name: String?
        public var source: String?
        public var destination: String
        public var rw: Bool?

        enum CodingKeys: String, CodingKey {
            case type = "Type", name = "Name", source = "Source", destination = "Destination", rw = "RW"
        }
    }

    /// An entry of `GET /containers/json`.
    public struct ContainerSummary: Codable, Sendable, Hashable {
        public var id: String
        public var names: [String]
        public var image: String?
        public var imageID: String?
        public var command: String?
        /// Unix seconds.
        public var created: Int64?
        /// `created`, `running`, `exited`...
        public var state: String?
        /// Human text such as `Up 3 minutes`.
        public var status: String?
        public var labels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case id = "Id", names = "Names", image = "Image", imageID = "ImageID", command = "Command"
            case created = "Created", state = "State", status = "Status", labels = "Labels"
        }
    }

    /// Answer of `POST /containers/{id}/wait`.
    public struct WaitResult: Codable, Sendable, Hashable {
        /// The container's exit code.
        public var statusCode: Int
        /// Set when the engine could not wait properly.
        public var error: WaitError?

        public struct WaitError: Codable, Sendable, Hashable {
            public var message: String?
            enum CodingKeys: String, CodingKey { case message = "Message" }
        }

        enum CodingKeys: String, CodingKey { case statusCode = "StatusCode", error = "Error" }
    }

    /// What `wait` waits for (`condition`).
    public enum WaitCondition: String, Sendable {
        /// Until the container is not running; returns at once if it is not (`not-running`).
        case notRunning = "not-running"
        /// Until the container next exits, even if it has not started yet (`next-exit`).
        case nextExit = "next-exit"
        /// Until the container is removed (`removed`).
        case removed
    }
}
