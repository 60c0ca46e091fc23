extension Docker {
    /// What `GET /_ping` tells: the engine is up, and which API it speaks.
    public struct PingResult: Sendable, Hashable {
        /// `API-Version` header.
        public var apiVersion: APIVersion?
        /// `OSType` header (`linux`).
        public var osType: String?
        /// `Builder-Version` header (`1` is the classic builder, `2` BuildKit).
        public var builderVersion: String?
    }

    /// `GET /version`.
    public struct VersionInfo: Codable, Sendable, Hashable {
        public var version: String
        public var apiVersion: String
        public var minAPIVersion: String?
        public var gitCommit: String?
        public var goVersion: String?
        public var os: String?
        public var arch: String?
        public var kernelVersion: String?

        enum CodingKeys: String, CodingKey {
            case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion"
            case gitCommit = "GitCommit", goVersion = "GoVersion", os = "Os", arch = "Arch"
            case kernelVersion = "KernelVersion"
        }
    }

    /// `GET /info` (the fields this project uses).
    public struct SystemInfo: Codable, Sendable, Hashable {
        public var id: String?
        public var name: String?
        public var serverVersion: String?
        public var containers: Int?
        public var containersRunning: Int?
        public var containersPaused: Int?
        public var containersStopped: Int?
        public var images: Int?
        public var driver: String?
        public var dockerRootDir: String?
        public var memTotal: Int64?
        public var ncpu: Int?
        public var operatingSystem: String?
        public var kernelVersion: String?
        public var cgroupDriver: String?
        public var cgroupVersion: String?
        public var securityOptions: [String]?
        public var labels: [String]?

        enum CodingKeys: String, CodingKey {
            case id = "ID", name = "Name", serverVersion = "ServerVersion", containers = "Containers"
            case containersRunning = "ContainersRunning", containersPaused = "ContainersPaused"
            case containersStopped = "ContainersStopped", images = "Images", driver = "Driver"
            case dockerRootDir = "DockerRootDir", memTotal = "MemTotal", ncpu = "NCPU"
            case operatingSystem = "OperatingSystem", kernelVersion = "KernelVersion"
            case cgroupDriver = "CgroupDriver", cgroupVersion = "CgroupVersion"
            case securityOptions = "SecurityOptions", labels = "Labels"
        }
    }
}
