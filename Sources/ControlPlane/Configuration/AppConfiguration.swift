import DockerEngine
import Foundation
import Logging

/// Everything the control plane reads from its environment (the seed's variables plus ours).
/// Build it with ``AppConfiguration/load(environment:)``; tests build it directly.
public struct AppConfiguration: Sendable {
    public enum Mode: String, Sendable { case development, production }

    public var mode: Mode = .development
    public var host = "127.0.0.1"
    public var port = 3000
    /// `postgres://...` for PostgreSQL; `nil` selects SQLite under ``storagePath``.
    public var databaseURL: String?
    public var storagePath = "./storage"
    public var jwtSecret: [UInt8] = []
    public var jwtRefreshSecret: [UInt8] = []
    /// Access-token lifetime in seconds (`JWT_EXPIRES_IN`, seed default 24h).
    public var accessTokenLifetime: Double = 86_400
    /// Refresh-token (session) lifetime in seconds (`JWT_REFRESH_EXPIRES_IN`, default 7d).
    public var refreshTokenLifetime: Double = 604_800
    /// 32 raw bytes (`ENCRYPTION_KEY` as 64 hex characters, base64, or 32 raw bytes).
    public var encryptionKey: [UInt8] = []
    public var litellmProxyURL = "http://localhost:4000"
    /// Sent as `Authorization: Bearer` to the gateway (`LITELLM_API_KEY`, LiteLLM's master key).
    public var litellmAPIKey: String?
    /// Seconds one LLM call may take (`LLM_TIMEOUT_SECONDS`).
    public var llmTimeoutSeconds = 120
    /// The run worker: lease, poll and concurrency settings.
    public var runWorker = RunWorker.Configuration()
    public var maxFileSize = 104_857_600
    /// Document memory: embedder, chunking, search, curator.
    public var memory = MemorySettings()
    /// Largest JSON request body accepted by ordinary routes.
    public var maxJSONBodySize = 1_048_576
    public var rateLimit = RateLimitSettings()
    public var loginLimit = LoginLimitSettings()
    public var logLevel: Logger.Level = .info
    public var logFile: String?
    public var corsOrigin: String?
    public var websocketPort: Int?
    public var adminEmail: String?
    public var adminPassword: String?
    /// bcrypt cost for new password hashes.
    public var bcryptCost: UInt8 = 12
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy you run).
    public var trustProxy = false
    /// How long a verified session stays cached before it is checked against the database again.
    public var sessionCacheTTL: Double = 1.0
    /// Where the Docker engine is: `DOCKER_HOST` (`unix://` or `tcp://`, TLS as the docker CLI
    /// does it), else `DOCKER_SOCKET_PATH`.
    public var dockerEndpoint: Docker.Endpoint = .unixSocket(path: Docker.Endpoint.defaultSocketPath)
    /// Root of the per-persona run directories (`PERSONA_RUN_DIR`): `<root>/<persona id>/` holds
    /// the container token and the supervisor's socket. Short, because socket paths must fit
    /// 108 bytes.
    public var runDirectory = "/run/persona"
    /// Directory of the control plane's internal socket (`PERSONA_CONTROL_SOCKET_DIR`),
    /// mounted read-only into every persona container at `/run/persona-cp`.
    public var controlSocketDirectory = "/run/persona-cp"
    /// The persona image (`PERSONA_IMAGE`), also what `scripts/build-images` tags.
    public var personaImage = "persona-platform/persona:latest"
    /// The desktop image (`PERSONA_DESKTOP_IMAGE`): the persona image plus chromium,
    /// Playwright, Xvfb and x11vnc; personas whose runtime says `desktop` run it.
    public var desktopImage = "persona-platform/persona-desktop:latest"
    /// How the control plane and supervisors talk (`PERSONA_CONTROL_CHANNEL`).
    public var controlChannel = ControlChannel.unixSocket
    /// Seconds between supervisor heartbeats (`PERSONA_HEARTBEAT_SECONDS`).
    public var supervisorHeartbeatSeconds = 10
    /// Seconds between reconciler sweeps (`PERSONA_RECONCILE_SECONDS`).
    public var reconcileIntervalSeconds: Double = 30
    /// Seconds `docker stop` waits before it kills a persona container.
    public var containerStopTimeoutSeconds = 10
    /// Extra labels on every persona container (tests mark theirs for clean-up checks).
    public var extraContainerLabels: [String: String] = [:]
    /// Benchmarks only (`PERSONA_BENCH_CEILING_FILE`): serve this file's bytes at
    /// `GET /bench/ceiling` through the same middleware, without auth or database, as the
    /// in-memory ceiling `scripts/bench-api` compares against. Unset in production.
    public var benchCeilingFile: String?

    public init() {}

    /// The control channel between the control plane and the supervisors.
    public enum ControlChannel: Sendable, Equatable {
        /// One host: the supervisor listens on a socket in its run directory, the control
        /// plane's internal API on a socket in ``controlSocketDirectory``; no ports at all.
        case unixSocket
        /// A remote engine: the supervisor listens on TCP 7070, published on `publishHost`
        /// (loopback or a private address of the engine host) and reached at `supervisorHost`;
        /// the internal API listens on `internalHost:internalPort` and containers reach it at
        /// `controlPlaneURL`.
        case tcp(publishHost: String, supervisorHost: String, internalHost: String, internalPort: Int, controlPlaneURL: String)
    }

    public struct RateLimitSettings: Sendable {
        public var enabled = true
        public var windowSeconds: Double = 60
        public var maxRequests = 100
        public init() {}
    }

    public struct LoginLimitSettings: Sendable {
        /// Attempts allowed per account in a window.
        public var maxPerAccount = 10
        /// Attempts allowed per client address in a window.
        public var maxPerAddress = 50
        public var windowSeconds: Double = 900
        public init() {}
    }

    /// The SQLite file used when no `DATABASE_URL` is set.
    public var sqlitePath: String { (storagePath as NSString).appendingPathComponent("persona.db") }
}
