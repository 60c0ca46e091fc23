extension Docker {
    /// `POST /networks/create` body.
    public struct NetworkSpec: Encodable, Sendable, Hashable {
        public var name: String
        /// `bridge` by default.
        public var driver: String
        /// No route outside the network (`Internal`).
        public var `internal`: Bool
        /// Standalone containers may join a swarm network (`Attachable`).
        public var attachable: Bool
        public var labels: [String: String]
        /// Driver options, e.g. `com.docker.network.bridge.enable_icc` (`Options`).
        public var options: [String: String]

        public init(name: String, driver: String = "bridge", internal: Bool = false, attachable: Bool = false, labels: [String: String] = [:], options: [String: String] = [:]) {
            self.name = name
            self.driver = driver
            self.internal = `internal`
            self.attachable = attachable
            self.labels = labels
            self.options = options
        }

        enum CodingKeys: String, CodingKey {
            case name = "Name", driver = "Driver", `internal` = "Internal", attachable = "Attachable"
            case labels = "Labels", options = "Options", checkDuplicate = "CheckDuplicate"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(driver, forKey: .driver)
            try container.encode(`internal`, forKey: .internal)
            try container.encode(attachable, forKey: .attachable)
            try container.encode(labels, forKey: .labels)
            try container.encode(options, forKey: .options)
            // Engines before 1.44 otherwise accept two networks of the same name.
            try container.encode(true, forKey: .checkDuplicate)
        }
    }

    /// `GET /networks/{id}` and the entries of `GET /networks`.
    public struct NetworkInspect: Codable, Sendable, Hashable {
        public var id: String
        public var name: String
        public var driver: String?
        public var scope: String?
        public var `internal`: Bool?
        public var labels: [String: String]?
        /// Containers on the network, by container id (filled by inspect, not by list).
        public var containers: [String: NetworkContainer]?

        enum CodingKeys: String, CodingKey {
            case id = "Id", name = "Name", driver = "Driver", scope = "Scope", `internal` = "Internal"
            case labels = "Labels", containers = "Containers"
        }

        public struct NetworkContainer: Codable, Sendable, Hashable {
            public var name: String?
            public var ipv4Address: String?
            enum CodingKeys: String, CodingKey { case name = "Name", ipv4Address = "IPv4Address" }
        }
    }
}
