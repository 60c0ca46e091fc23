extension Docker {
    /// A container's host-side settings (`HostConfig`): limits, mounts, published ports,
    /// security options, restart policy. Sent by create, returned by inspect.
    public struct HostConfig: Codable, Sendable, Hashable {
        /// `host-path:container-path[:ro]` bind mounts (`Binds`).
        public var binds: [String]?
        /// Mounts (`Mounts`): binds, volumes, tmpfs.
        public var mounts: [Mount]?
        /// Published ports: `"7070/tcp"` to host addresses (`PortBindings`).
        public var portBindings: [String: [PortBinding]]?
        /// Memory limit in bytes (`Memory`).
        public var memory: Int64?
        /// Memory + swap limit in bytes, `-1` for unlimited swap (`MemorySwap`).
        public var memorySwap: Int64?
        /// CPU quota in billionths of a CPU (`NanoCpus`); `1_500_000_000` is 1.5 CPUs.
        public var nanoCpus: Int64?
        /// Relative CPU weight (`CpuShares`); a weight, not a limit.
        public var cpuShares: Int?
        /// Maximum number of processes (`PidsLimit`).
        public var pidsLimit: Int64?
        /// `RestartPolicy`.
        public var restartPolicy: RestartPolicy?
        /// `SecurityOpt`, e.g. `no-new-privileges:true`.
        public var securityOpt: [String]?
        /// Capabilities to add (`CapAdd`), e.g. `SETUID`.
        public var capAdd: [String]?
        /// Capabilities to drop (`CapDrop`), e.g. `ALL`.
        public var capDrop: [String]?
        /// Mount the root file system read-only (`ReadonlyRootfs`).
        public var readonlyRootfs: Bool?
        /// tmpfs mounts: container path to options such as `size=64m,mode=1777` (`Tmpfs`).
        public var tmpfs: [String: String]?
        /// `bridge`, `none`, `host`, `container:<id>` or a network name (`NetworkMode`).
        public var networkMode: String?
        /// Remove the container when it exits (`AutoRemove`).
        public var autoRemove: Bool?
        /// Run an init process as PID 1 (`Init`).
        public var `init`: Bool?
        /// Size of `/dev/shm` in bytes (`ShmSize`).
        public var shmSize: Int64?
        /// Extra `/etc/hosts` lines, `name:ip` (`ExtraHosts`).
        public var extraHosts: [String]?
        /// `Privileged`. Never set for persona containers.
        public var privileged: Bool?

        public init(
            binds: [String]? = nil,
            mounts: [Mount]? = nil,
            portBindings: [String: [PortBinding]]? = nil,
            memory: Int64? = nil,
            memorySwap: Int64? = nil,
            nanoCpus: Int64? = nil,
            cpuShares: Int? = nil,
            pidsLimit: Int64? = nil,
            restartPolicy: RestartPolicy? = nil,
            securityOpt: [String]? = nil,
            capAdd: [String]? = nil,
            capDrop: [String]? = nil,
            readonlyRootfs: Bool? = nil,
            tmpfs: [String: String]? = nil,
            networkMode: String? = nil,
            autoRemove: Bool? = nil,
            init: Bool? = nil,
            shmSize: Int64? = nil,
            extraHosts: [String]? = nil,
            privileged: Bool? = nil
        ) {
            self.binds = binds
            self.mounts = mounts
            self.portBindings = portBindings
            self.memory = memory
            self.memorySwap = memorySwap
            self.nanoCpus = nanoCpus
            self.cpuShares = cpuShares
            self.pidsLimit = pidsLimit
            self.restartPolicy = restartPolicy
            self.securityOpt = securityOpt
            self.capAdd = capAdd
            self.capDrop = capDrop
            self.readonlyRootfs = readonlyRootfs
            self.tmpfs = tmpfs
            self.networkMode = networkMode
            self.autoRemove = autoRemove
            self.`init` = `init`
            self.shmSize = shmSize
            self.extraHosts = extraHosts
            self.privileged = privileged
        }

        enum CodingKeys: String, CodingKey {
            case binds = "Binds", mounts = "Mounts", portBindings = "PortBindings", memory = "Memory"
            case memorySwap = "MemorySwap", nanoCpus = "NanoCpus", cpuShares = "CpuShares", pidsLimit = "PidsLimit"
            case restartPolicy = "RestartPolicy", securityOpt = "SecurityOpt", capAdd = "CapAdd", capDrop = "CapDrop"
            case readonlyRootfs = "ReadonlyRootfs", tmpfs = "Tmpfs", networkMode = "NetworkMode"
            case autoRemove = "AutoRemove", `init` = "Init", shmSize = "ShmSize", extraHosts = "ExtraHosts"
            case privileged = "Privileged"
        }
    }

    /// A host address a container port is published on (`PortBinding`).
    public struct PortBinding: Codable, Sendable, Hashable {
        /// Host address, e.g. `127.0.0.1`; empty means every address.
        public var hostIP: String?
        /// Host port as a string; empty or `nil` lets the engine choose.
        public var hostPort: String?

        public init(hostIP: String? = nil, hostPort: String? = nil) {
            self.hostIP = hostIP
            self.hostPort = hostPort
        }

        /// A port on host loopback, chosen by the engine when `port` is `nil`.
        public static func loopback(_ port: Int? = nil) -> PortBinding {
            PortBinding(hostIP: "127.0.0.1", hostPort: port.map(String.init) ?? "")
        }

        enum CodingKeys: String, CodingKey { case hostIP = "HostIp", hostPort = "HostPort" }
    }

    /// A mount (`Mount`): a bind, a named volume or a tmpfs.
    public struct Mount: Codable, Sendable, Hashable {
        public enum Kind: String, Codable, Sendable {
            case bind, volume, tmpfs
        }

        /// `Type`.
        public var type: Kind
        /// Host path (bind) or volume name (volume); unused for tmpfs (`Source`).
        public var source: String?
        /// Path inside the container (`Target`).
        public var target: String
        /// `ReadOnly`.
        public var readOnly: Bool?
        /// tmpfs size and mode (`TmpfsOptions`).
        public var tmpfsOptions: TmpfsOptions?

        public init(type: Kind, source: String? = nil, target: String, readOnly: Bool? = nil, tmpfsOptions: TmpfsOptions? = nil) {
            self.type = type
            self.source = source
            self.target = target
            self.readOnly = readOnly
            self.tmpfsOptions = tmpfsOptions
        }

        /// A host directory bind-mounted at `target`.
        public static func bind(_ source: String, at target: String, readOnly: Bool = false) -> Mount {
            Mount(type: .bind, source: source, target: target, readOnly: readOnly)
        }

        /// A named volume mounted at `target`.
        public static func volume(_ name: String, at target: String, readOnly: Bool = false) -> Mount {
            Mount(type: .volume, source: name, target: target, readOnly: readOnly)
        }

        /// A tmpfs of `sizeBytes` at `target`.
        public static func tmpfs(at target: String, sizeBytes: Int64, mode: Int? = nil) -> Mount {
            Mount(type: .tmpfs, target: target, tmpfsOptions: TmpfsOptions(sizeBytes: sizeBytes, mode: mode))
        }

        /// `TmpfsOptions`.
        public struct TmpfsOptions: Codable, Sendable, Hashable {
            public var sizeBytes: Int64?
            /// File mode as an integer (`0o1777`).
            public var mode: Int?

            public init(sizeBytes: Int64? = nil, mode: Int? = nil) {
                self.sizeBytes = sizeBytes
                self.mode = mode
            }

            enum CodingKeys: String, CodingKey { case sizeBytes = "SizeBytes", mode = "Mode" }
        }

        enum CodingKeys: String, CodingKey {
            case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", tmpfsOptions = "TmpfsOptions"
        }
    }

    /// When the engine restarts a container (`RestartPolicy`).
    public struct RestartPolicy: Codable, Sendable, Hashable {
        /// `""`/`no`, `always`, `unless-stopped` or `on-failure`.
        public var name: String
        /// Retries for `on-failure` (`MaximumRetryCount`).
        public var maximumRetryCount: Int?

        public init(name: String, maximumRetryCount: Int? = nil) {
            self.name = name
            self.maximumRetryCount = maximumRetryCount
        }

        public static let no = RestartPolicy(name: "no")
        public static let always = RestartPolicy(name: "always")
        public static let unlessStopped = RestartPolicy(name: "unless-stopped")
        public static func onFailure(maximumRetries: Int) -> RestartPolicy {
            RestartPolicy(name: "on-failure", maximumRetryCount: maximumRetries)
        }

        enum CodingKeys: String, CodingKey { case name = "Name", maximumRetryCount = "MaximumRetryCount" }
    }
}
