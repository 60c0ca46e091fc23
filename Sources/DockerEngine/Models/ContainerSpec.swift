extension Docker {
    /// Everything `POST /containers/create` takes: the container's own settings
    /// (`Config`) plus ``host`` (`HostConfig`) and the networks to join (`NetworkingConfig`).
    public struct ContainerSpec: Encodable, Sendable {
        /// Image name or id (`Image`).
        public var image: String
        /// Command (`Cmd`); the image's when `nil`.
        public var command: [String]?
        /// Entrypoint; the image's when `nil`.
        public var entrypoint: [String]?
        /// Environment (`Env`, sent as `KEY=value`). Never put secrets here: `docker inspect` shows them.
        public var environment: [String: String]
        /// Labels, e.g. `io.persona.id`.
        public var labels: [String: String]
        /// `user`, `user:group` or `uid:gid` (`User`).
        public var user: String?
        /// `WorkingDir`.
        public var workingDirectory: String?
        /// `Hostname`.
        public var hostname: String?
        /// Ports to expose besides those in ``HostConfig/portBindings`` (`"7070/tcp"`).
        public var exposedPorts: [String]
        /// `Healthcheck`.
        public var healthcheck: Healthcheck?
        /// `StopSignal`, e.g. `SIGTERM`.
        public var stopSignal: String?
        /// Seconds the engine waits after the stop signal before `SIGKILL` (`StopTimeout`).
        public var stopTimeout: Int?
        /// Allocate a TTY (`Tty`); logs and exec output are then not multiplexed.
        public var tty: Bool
        /// Keep stdin open (`OpenStdin`).
        public var openStdin: Bool
        /// Limits, mounts, ports, security (`HostConfig`).
        public var host: HostConfig
        /// Networks to join at creation, by name, with their settings (`NetworkingConfig.EndpointsConfig`).
        public var networks: [String: EndpointSettings]

        public init(
            image: String,
            command: [String]? = nil,
            entrypoint: [String]? = nil,
            environment: [String: String] = [:],
            labels: [String: String] = [:],
            user: String? = nil,
            workingDirectory: String? = nil,
            hostname: String? = nil,
            exposedPorts: [String] = [],
            healthcheck: Healthcheck? = nil,
            stopSignal: String? = nil,
            stopTimeout: Int? = nil,
            tty: Bool = false,
            openStdin: Bool = false,
            host: HostConfig = HostConfig(),
            networks: [String: EndpointSettings] = [:]
        ) {
            self.image = image
            self.command = command
            self.entrypoint = entrypoint
            self.environment = environment
            self.labels = labels
            self.user = user
            self.workingDirectory = workingDirectory
            self.hostname = hostname
            self.exposedPorts = exposedPorts
            self.healthcheck = healthcheck
            self.stopSignal = stopSignal
            self.stopTimeout = stopTimeout
            self.tty = tty
            self.openStdin = openStdin
            self.host = host
            self.networks = networks
        }

        enum CodingKeys: String, CodingKey {
            case image = "Image", command = "Cmd", entrypoint = "Entrypoint", environment = "Env"
            case labels = "Labels", user = "User", workingDirectory = "WorkingDir", hostname = "Hostname"
            case exposedPorts = "ExposedPorts", healthcheck = "Healthcheck", stopSignal = "StopSignal"
            case stopTimeout = "StopTimeout", tty = "Tty", openStdin = "OpenStdin", host = "HostConfig"
            case networks = "NetworkingConfig"
        }

        private struct Empty: Encodable {}
        private struct NetworkingConfig: Encodable {
            var endpointsConfig: [String: EndpointSettings]
            enum CodingKeys: String, CodingKey { case endpointsConfig = "EndpointsConfig" }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(image, forKey: .image)
            try container.encodeIfPresent(command, forKey: .command)
            try container.encodeIfPresent(entrypoint, forKey: .entrypoint)
            try container.encode(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, forKey: .environment)
            try container.encode(labels, forKey: .labels)
            try container.encodeIfPresent(user, forKey: .user)
            try container.encodeIfPresent(workingDirectory, forKey: .workingDirectory)
            try container.encodeIfPresent(hostname, forKey: .hostname)
            // A published port must also be exposed, as `docker run -p` does.
            let exposed = Set(exposedPorts).union(host.portBindings.map { Array($0.keys) } ?? [])
            try container.encode(Dictionary(uniqueKeysWithValues: exposed.map { ($0, Empty()) }), forKey: .exposedPorts)
            try container.encodeIfPresent(healthcheck, forKey: .healthcheck)
            try container.encodeIfPresent(stopSignal, forKey: .stopSignal)
            try container.encodeIfPresent(stopTimeout, forKey: .stopTimeout)
            try container.encode(tty, forKey: .tty)
            try container.encode(openStdin, forKey: .openStdin)
            try container.encode(host, forKey: .host)
            if !networks.isEmpty {
                try container.encode(NetworkingConfig(endpointsConfig: networks), forKey: .networks)
            }
        }
    }

    /// A container health check (`Healthcheck`).
    public struct Healthcheck: Codable, Sendable, Hashable {
        /// `["CMD", "prog", "arg"]`, `["CMD-SHELL", "command"]` or `["NONE"]`.
        public var test: [String]
        /// Nanoseconds between checks (`Interval`).
        public var interval: Int64?
        /// Nanoseconds one check may take (`Timeout`).
        public var timeout: Int64?
        /// Consecutive failures before `unhealthy` (`Retries`).
        public var retries: Int?
        /// Nanoseconds of grace after start (`StartPeriod`).
        public var startPeriod: Int64?

        public init(test: [String], interval: Duration? = nil, timeout: Duration? = nil, retries: Int? = nil, startPeriod: Duration? = nil) {
            self.test = test
            self.interval = interval?.nanoseconds
            self.timeout = timeout?.nanoseconds
            self.retries = retries
            self.startPeriod = startPeriod?.nanoseconds
        }

        enum CodingKeys: String, CodingKey {
            case test = "Test", interval = "Interval", timeout = "Timeout", retries = "Retries", startPeriod = "StartPeriod"
        }
    }

    /// A network endpoint's settings when connecting a container (`EndpointSettings`).
    public struct EndpointSettings: Codable, Sendable, Hashable {
        /// DNS aliases of the container on that network.
        public var aliases: [String]?
        /// Fixed IPv4 address (`IPAMConfig.IPv4Address`) is not modelled; the engine assigns one.
        public var networkID: String?
        public var ipAddress: String?
        public var gateway: String?
        public var macAddress: String?

        public init(aliases: [String]? = nil) {
            self.aliases = aliases
        }

        enum CodingKeys: String, CodingKey {
            case aliases = "Aliases", networkID = "NetworkID", ipAddress = "IPAddress", gateway = "Gateway"
            case macAddress = "MacAddress"
        }
    }
}

extension Duration {
    /// Whole nanoseconds, as the Engine API counts durations.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
