extension Docker {
    /// `POST /volumes/create` body.
    public struct VolumeSpec: Encodable, Sendable, Hashable {
        /// The engine picks a name when `nil`.
        public var name: String?
        public var driver: String
        public var driverOptions: [String: String]
        public var labels: [String: String]

        public init(name: String? = nil, driver: String = "local", driverOptions: [String: String] = [:], labels: [String: String] = [:]) {
            self.name = name
            self.driver = driver
            self.driverOptions = driverOptions
            self.labels = labels
        }

        enum CodingKeys: String, CodingKey {
            case name = "Name", driver = "Driver", driverOptions = "DriverOpts", labels = "Labels"
        }
    }

    /// `GET /volumes/{name}` and the entries of `GET /volumes`.
    public struct VolumeInspect: Codable, Sendable, Hashable {
        public var name: String
        public var driver: String?
        /// Where the data lives on the engine's host.
        public var mountpoint: String?
        public var createdAt: String?
        public var labels: [String: String]?
        public var scope: String?

        enum CodingKeys: String, CodingKey {
            case name = "Name", driver = "Driver", mountpoint = "Mountpoint", createdAt = "CreatedAt"
            case labels = "Labels", scope = "Scope"
        }
    }

    struct VolumeList: Codable, Sendable {
        var volumes: [VolumeInspect]?
        enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
    }
}
