extension Docker {
    /// One event of `GET /events`.
    public struct Event: Codable, Sendable, Hashable {
        /// `container`, `image`, `network`, `volume`, `daemon`...
        public var type: String
        /// `create`, `start`, `die`, `stop`, `destroy`, `oom`, `health_status: healthy`,
        /// `exec_start: sh -c ...`...; see ``actionName``.
        public var action: String
        public var actor: Actor
        /// `local` or `swarm`.
        public var scope: String?
        /// Unix seconds.
        public var time: Int64
        /// Unix nanoseconds; orders events and resumes a subscription.
        public var timeNano: Int64

        /// The part of ``action`` before `:` (`health_status: healthy` -> `health_status`).
        public var actionName: String {
            String(action.prefix { $0 != ":" })
        }

        /// The object the event is about.
        public struct Actor: Codable, Sendable, Hashable {
            /// Container, image, network or volume id.
            public var id: String
            /// `name`, `image`, `exitCode`, the container's labels...
            public var attributes: [String: String]?
            enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
        }

        enum CodingKeys: String, CodingKey {
            case type = "Type", action = "Action", actor = "Actor", scope = "scope", time = "time", timeNano = "timeNano"
        }
    }

    /// What an event subscription yields.
    public enum EventStreamElement: Sendable {
        /// An event from the engine.
        case event(Event)
        /// The connection dropped (engine restart, network) and the subscription was
        /// re-established, asking the engine for everything since the last event. The
        /// engine replays only what it still buffers (and nothing across its own
        /// restart), so a reconciler should re-list what it watches when it sees this.
        case resumed(after: DockerError)
    }

    /// How an event subscription recovers from a dropped connection.
    public struct ReconnectPolicy: Sendable, Hashable {
        /// Wait before the first retry; doubled on each failure.
        public var initialDelay: Duration
        /// Longest wait between retries.
        public var maximumDelay: Duration
        /// Consecutive failed attempts after which the stream throws; `nil` retries forever.
        public var maximumAttempts: Int?

        public init(initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(10), maximumAttempts: Int? = 20) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
            self.maximumAttempts = maximumAttempts
        }

        /// Do not reconnect: the stream throws when the connection drops.
        public static let never = ReconnectPolicy(maximumAttempts: 0)
    }
}
