#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The control plane's internal API for supervisors, `/internal/v1/supervisors/...`. Every
/// request carries the container token as `Authorization: Bearer`, and `traceparent`.
public enum SupervisorRoutes {
    /// `POST` ``RegisterRequest``; answered with ``RegisterResponse``.
    public static let register = "/internal/v1/supervisors/register"
    /// `POST` ``Heartbeat``; 204.
    public static let heartbeat = "/internal/v1/supervisors/heartbeat"
    /// `POST` ``SupervisorEventBatch``; 204. Delivered in order from the outbox.
    public static let events = "/internal/v1/supervisors/events"
    /// `GET` ``SecretsResponse``: the persona's secrets, held in the supervisor's memory only.
    public static let secrets = "/internal/v1/supervisors/secrets"
}

/// Sent once per supervisor start (queued in the outbox, so it is the first report the
/// control plane sees). The control plane marks the persona `ready` on it.
public struct RegisterRequest: Codable, Sendable, Hashable {
    /// The persona this container belongs to (`PERSONA_ID`).
    public var personaId: String
    /// Random id of this supervisor process run; heartbeats and events repeat it.
    public var bootId: String
    /// Supervisor version.
    public var version: String
    /// When the supervisor started.
    public var startedAt: Date
    /// Every tool manifest the supervisor loaded.
    public var tools: [ToolManifest]
    /// Sidecars it runs (empty until the browser/desktop sidecars land).
    public var sidecars: [SidecarHealth]

    public init(personaId: String, bootId: String, version: String, startedAt: Date, tools: [ToolManifest],
                sidecars: [SidecarHealth] = []) {
        self.personaId = personaId
        self.bootId = bootId
        self.version = version
        self.startedAt = startedAt
        self.tools = tools
        self.sidecars = sidecars
    }
}

/// The control plane's answer to registration.
public struct RegisterResponse: Codable, Sendable, Hashable {
    /// Seconds between heartbeats the control plane wants (the supervisor keeps its own
    /// default when absent).
    public var heartbeatIntervalSeconds: Int?

    public init(heartbeatIntervalSeconds: Int? = nil) {
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
    }
}

/// Health of one sidecar (chromium, the Playwright driver, Xvfb, x11vnc) as `GET /health`,
/// heartbeats and `persona-supervisor status` report it.
public struct SidecarHealth: Codable, Sendable, Hashable {
    /// How a sidecar's process last ended.
    public struct Exit: Codable, Sendable, Hashable {
        /// Exit code, or minus the signal that killed it.
        public var status: Int
        public var at: Date
        /// Whether the supervisor stopped it (idle, shutdown, a dependency went away) rather
        /// than it ending by itself.
        public var requested: Bool

        public init(status: Int, at: Date, requested: Bool) {
            self.status = status
            self.at = at
            self.requested = requested
        }
    }

    public var name: String
    /// `stopped`, `starting`, `ready`, `backoff` (crashed, restart pending), `stopping`,
    /// `unavailable` (not installed in this image).
    public var state: String
    public var detail: String?
    public var pid: Int?
    /// Restarts after a crash since the supervisor started.
    public var restarts: Int
    public var lastExit: Exit?
    /// Resident memory of the sidecar's whole process tree, bytes.
    public var memoryBytes: Int?
    public var startedAt: Date?
    public var lastUsedAt: Date?
    /// Time from spawn to passing its readiness check, last start.
    public var readyMs: Int?
    /// Started at boot and never stopped for idleness.
    public var eager: Bool

    public init(name: String, state: String, detail: String? = nil, pid: Int? = nil, restarts: Int = 0, lastExit: Exit? = nil,
                memoryBytes: Int? = nil, startedAt: Date? = nil, lastUsedAt: Date? = nil, readyMs: Int? = nil, eager: Bool = false) {
        self.name = name
        self.state = state
        self.detail = detail
        self.pid = pid
        self.restarts = restarts
        self.lastExit = lastExit
        self.memoryBytes = memoryBytes
        self.startedAt = startedAt
        self.lastUsedAt = lastUsedAt
        self.readyMs = readyMs
        self.eager = eager
    }

    enum CodingKeys: String, CodingKey {
        case name, state, detail, pid, restarts, lastExit, memoryBytes, startedAt, lastUsedAt, readyMs, eager
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        state = try c.decode(String.self, forKey: .state)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        pid = try c.decodeIfPresent(Int.self, forKey: .pid)
        restarts = try c.decodeIfPresent(Int.self, forKey: .restarts) ?? 0
        lastExit = try c.decodeIfPresent(Exit.self, forKey: .lastExit)
        memoryBytes = try c.decodeIfPresent(Int.self, forKey: .memoryBytes)
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt)
        lastUsedAt = try c.decodeIfPresent(Date.self, forKey: .lastUsedAt)
        readyMs = try c.decodeIfPresent(Int.self, forKey: .readyMs)
        eager = try c.decodeIfPresent(Bool.self, forKey: .eager) ?? false
    }
}

/// Sent every few seconds; best effort (never queued: a stale heartbeat means nothing).
public struct Heartbeat: Codable, Sendable, Hashable {
    public var personaId: String
    public var bootId: String
    public var sentAt: Date
    /// `ok` or `degraded`.
    public var status: String
    public var uptimeSeconds: Int
    /// Resident set size of the supervisor process, bytes.
    public var rssBytes: Int
    /// Invocations running now.
    public var runningInvocations: Int
    /// Reports waiting in the outbox.
    public var outboxDepth: Int
    public var sidecars: [SidecarHealth]

    public init(personaId: String, bootId: String, sentAt: Date, status: String, uptimeSeconds: Int, rssBytes: Int,
                runningInvocations: Int, outboxDepth: Int, sidecars: [SidecarHealth] = []) {
        self.personaId = personaId
        self.bootId = bootId
        self.sentAt = sentAt
        self.status = status
        self.uptimeSeconds = uptimeSeconds
        self.rssBytes = rssBytes
        self.runningInvocations = runningInvocations
        self.outboxDepth = outboxDepth
        self.sidecars = sidecars
    }
}

/// One thing that happened to an invocation, reported through the outbox in order.
public struct InvocationEvent: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case started, finished
    }

    /// Outbox sequence number: strictly increasing per supervisor database, so the control
    /// plane can drop a duplicate delivery (`sequence <= last seen`).
    public var sequence: Int64
    public var personaId: String
    public var bootId: String
    public var kind: Kind
    public var invocationId: String
    public var tool: String
    public var idempotencyKey: String?
    /// W3C trace id and the invocation's span, so the control plane can join its own trace.
    public var traceparent: String
    public var at: Date
    /// Present on `finished`.
    public var result: InvocationResult?

    public init(sequence: Int64 = 0, personaId: String, bootId: String, kind: Kind, invocationId: String, tool: String,
                idempotencyKey: String?, traceparent: String, at: Date, result: InvocationResult? = nil) {
        self.sequence = sequence
        self.personaId = personaId
        self.bootId = bootId
        self.kind = kind
        self.invocationId = invocationId
        self.tool = tool
        self.idempotencyKey = idempotencyKey
        self.traceparent = traceparent
        self.at = at
        self.result = result
    }
}

/// The body of `POST /internal/v1/supervisors/events`.
public struct SupervisorEventBatch: Codable, Sendable, Hashable {
    public var events: [InvocationEvent]

    public init(events: [InvocationEvent]) {
        self.events = events
    }
}

/// The body of `GET /internal/v1/supervisors/secrets`: name to plain value.
public struct SecretsResponse: Codable, Sendable, Hashable {
    public var secrets: [String: String]
    /// The password of the persona's VNC desktop (derived per container by the control plane;
    /// the supervisor hands it to x11vnc in a file, never to a tool).
    public var vncPassword: String?

    public init(secrets: [String: String], vncPassword: String? = nil) {
        self.secrets = secrets
        self.vncPassword = vncPassword
    }
}

/// `GET /health` on the supervisor.
public struct SupervisorHealth: Codable, Sendable, Hashable {
    /// `ok` or `degraded`.
    public var status: String
    public var sidecars: [SidecarHealth]

    public init(status: String, sidecars: [SidecarHealth]) {
        self.status = status
        self.sidecars = sidecars
    }
}

/// `GET /v1/info` on the supervisor; `persona-supervisor status` prints it.
public struct SupervisorInfo: Codable, Sendable, Hashable {
    public var version: String
    public var personaId: String
    public var bootId: String
    public var uptimeSeconds: Int
    public var rssBytes: Int
    public var toolCount: Int
    public var runningInvocations: Int
    public var outboxDepth: Int
    /// Whether the control plane has acknowledged this boot's registration.
    public var registered: Bool
    public var recentInvocations: [InvocationSummary]

    public init(version: String, personaId: String, bootId: String, uptimeSeconds: Int, rssBytes: Int, toolCount: Int,
                runningInvocations: Int, outboxDepth: Int, registered: Bool, recentInvocations: [InvocationSummary]) {
        self.version = version
        self.personaId = personaId
        self.bootId = bootId
        self.uptimeSeconds = uptimeSeconds
        self.rssBytes = rssBytes
        self.toolCount = toolCount
        self.runningInvocations = runningInvocations
        self.outboxDepth = outboxDepth
        self.registered = registered
        self.recentInvocations = recentInvocations
    }
}

/// One line of the recent-invocations list.
public struct InvocationSummary: Codable, Sendable, Hashable {
    public var id: String
    public var tool: String
    public var status: InvocationStatus
    public var startedAt: Date
    public var durationMs: Int?
    public var traceId: String

    public init(id: String, tool: String, status: InvocationStatus, startedAt: Date, durationMs: Int?, traceId: String) {
        self.id = id
        self.tool = tool
        self.status = status
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.traceId = traceId
    }
}

/// A file or directory in a `GET /v1/files/list` answer.
public struct WorkspaceEntry: Codable, Sendable, Hashable {
    /// Path relative to `/workspace`.
    public var path: String
    /// `file`, `directory`, `symlink` or `other`.
    public var type: String
    public var size: Int

    public init(path: String, type: String, size: Int) {
        self.path = path
        self.type = type
        self.size = size
    }
}
