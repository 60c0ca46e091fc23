import Containers
import Runs
import Memory
import Tools
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
    /// `WEBSOCKET_PORT`: a second listener for `/api/ws` (it is always on the main port too).
    public var websocketPort: Int?
    /// The live event stream (`/api/ws`): poll interval, queue limit, timeouts.
    public var events = EventSettings()
    /// Alert delivery to `ALERT_WEBHOOK_URL`.
    public var webhook = WebhookSettings()
    /// Email connectors: the default sender and the email tools' limits.
    public var connectors = ConnectorSettings()
    public var adminEmail: String?
    public var adminPassword: String?
    /// bcrypt cost for new password hashes.
    public var bcryptCost: UInt8 = 12
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy you run).
    public var trustProxy = false
    /// The web console: where its files are (`CONSOLE_DIR`; found beside the executable or in
    /// the source tree when unset), the fonts `scripts/fetch-fonts` fetched (`CONSOLE_FONTS_DIR`),
    /// and `Secure` on its cookies (`COOKIE_SECURE`; also when a trusted proxy says https).
    public var consoleDirectory: String?
    public var consoleFontsDirectory: String?
    /// noVNC's ES modules for the desktop page (`CONSOLE_NOVNC_DIR`, what `scripts/fetch-novnc`
    /// writes; Debian's `/usr/share/novnc` when unset and present).
    public var consoleNoVNCDirectory: String?
    public var cookieSecure = false
    /// How long a verified session stays cached before it is checked against the database again.
    public var sessionCacheTTL: Double = 1.0
    /// Persona containers: the engine, images, control channel, run directories and timings.
    public var containers = ContainerSettings()
    /// The tool catalog's background work: image manifests, search vectors.
    public var tools = ToolSettings()
    /// Benchmarks only (`PERSONA_BENCH_CEILING_FILE`): serve this file's bytes at
    /// `GET /bench/ceiling` through the same middleware, without auth or database, as the
    /// in-memory ceiling `scripts/bench-api` compares against. Unset in production.
    public var benchCeilingFile: String?

    public init() {}

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
