import Crypto
import DockerEngine
import Foundation
import Tools
import Logging
import PersonaCore

extension AppConfiguration {
    /// Reads the configuration from `environment`.
    ///
    /// In production (`PERSONA_ENV=production`) missing or weak secrets are refused. In
    /// development missing secrets are generated once and kept in
    /// `STORAGE_PATH/dev-secrets.env` (mode 0600), so tokens survive restarts.
    /// - Throws: ``ConfigurationError`` naming the variable that is wrong.
    public static func load(environment env: Environment) throws -> AppConfiguration {
        var c = AppConfiguration()
        if let mode = env["PERSONA_ENV"] ?? env["NODE_ENV"] {
            guard let parsed = Mode(rawValue: mode.lowercased()) ?? (mode == "test" ? .development : nil) else {
                throw ConfigurationError("PERSONA_ENV must be development or production, not \(mode)")
            }
            c.mode = parsed
        }
        c.host = env["HOST"] ?? c.host
        c.port = try env.int("PORT", default: c.port, range: 0...65535)
        c.databaseURL = env["DATABASE_URL"]
        if let url = c.databaseURL, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ConfigurationError("DATABASE_URL must be a postgres:// URL (leave it unset for embedded SQLite)")
        }
        c.storagePath = env["STORAGE_PATH"] ?? c.storagePath
        c.litellmProxyURL = env["LITELLM_PROXY_URL"] ?? c.litellmProxyURL
        c.litellmAPIKey = env["LITELLM_API_KEY"]
        c.llmTimeoutSeconds = try env.int("LLM_TIMEOUT_SECONDS", default: c.llmTimeoutSeconds, range: 1...3600)
        c.runWorker.maxConcurrentRuns = try env.int("RUN_WORKER_CONCURRENCY", default: c.runWorker.maxConcurrentRuns, range: 1...1024)
        c.runWorker.leaseSeconds = Double(try env.int("RUN_LEASE_SECONDS", default: Int(c.runWorker.leaseSeconds), range: 2...3600))
        c.maxFileSize = try env.int("MAX_FILE_SIZE", default: c.maxFileSize, range: 1...Int.max)
        c.rateLimit.enabled = try env.bool("RATE_LIMIT_ENABLED", default: c.rateLimit.enabled)
        c.rateLimit.windowSeconds = Double(try env.int("RATE_LIMIT_WINDOW_MS", default: 60_000, range: 1...Int.max)) / 1000
        c.rateLimit.maxRequests = try env.int("RATE_LIMIT_MAX_REQUESTS", default: c.rateLimit.maxRequests, range: 1...Int.max)
        c.loginLimit.maxPerAccount = try env.int("LOGIN_RATE_LIMIT_PER_ACCOUNT", default: c.loginLimit.maxPerAccount, range: 1...Int.max)
        c.loginLimit.maxPerAddress = try env.int("LOGIN_RATE_LIMIT_PER_ADDRESS", default: c.loginLimit.maxPerAddress, range: 1...Int.max)
        c.loginLimit.windowSeconds = Double(try env.int("LOGIN_RATE_LIMIT_WINDOW_MS", default: 900_000, range: 1...Int.max)) / 1000
        if let level = env["LOG_LEVEL"] {
            guard let parsed = Logger.Level(seedName: level) else {
                throw ConfigurationError("LOG_LEVEL must be one of trace, debug, info, warn, error, critical")
            }
            c.logLevel = parsed
        }
        c.logFile = env["LOG_FILE"]
        c.corsOrigin = env["CORS_ORIGIN"]
        c.websocketPort = try env["WEBSOCKET_PORT"].map { _ in try env.int("WEBSOCKET_PORT", default: 0, range: 1...65535) }
        c.adminEmail = env["PERSONA_ADMIN_EMAIL"]
        c.adminPassword = env["PERSONA_ADMIN_PASSWORD"]
        c.bcryptCost = UInt8(try env.int("BCRYPT_COST", default: Int(c.bcryptCost), range: 4...31))
        c.trustProxy = try env.bool("TRUST_PROXY", default: false)
        c.consoleDirectory = env["CONSOLE_DIR"]
        c.consoleFontsDirectory = env["CONSOLE_FONTS_DIR"]
        c.consoleNoVNCDirectory = env["CONSOLE_NOVNC_DIR"]
        c.cookieSecure = try env.bool("COOKIE_SECURE", default: false)
        do {
            c.containers.dockerEndpoint = try Docker.Endpoint.fromEnvironment(env.values)
        } catch {
            throw ConfigurationError("DOCKER_HOST is not usable: \(error.message)")
        }
        c.containers.runDirectory = env["PERSONA_RUN_DIR"] ?? c.containers.runDirectory
        c.containers.controlSocketDirectory = env["PERSONA_CONTROL_SOCKET_DIR"] ?? c.containers.controlSocketDirectory
        for (name, path) in [("PERSONA_RUN_DIR", c.containers.runDirectory), ("PERSONA_CONTROL_SOCKET_DIR", c.containers.controlSocketDirectory)] {
            // <dir>/<36-character persona id>/supervisor.sock must fit sun_path (108 bytes).
            guard path.hasPrefix("/"), path.utf8.count <= 60 else {
                throw ConfigurationError("\(name) must be an absolute path of at most 60 bytes (socket paths must fit 108 bytes)")
            }
        }
        c.containers.personaImage = env["PERSONA_IMAGE"] ?? c.containers.personaImage
        c.containers.desktopImage = env["PERSONA_DESKTOP_IMAGE"] ?? c.containers.desktopImage
        c.containers.supervisorHeartbeatSeconds = try env.int("PERSONA_HEARTBEAT_SECONDS", default: c.containers.supervisorHeartbeatSeconds, range: 1...3600)
        c.containers.reconcileIntervalSeconds = Double(try env.int("PERSONA_RECONCILE_SECONDS", default: Int(c.containers.reconcileIntervalSeconds), range: 1...86_400))
        c.containers.healthIntervalSeconds = Double(try env.int("HEALTH_INTERVAL_SECONDS", default: Int(c.containers.healthIntervalSeconds), range: 0...86_400))
        let imageSeconds = try env.int("TOOL_IMAGE_CATALOG_SECONDS", default: 60, range: 0...86_400)
        c.tools.imageCatalogInterval = imageSeconds == 0 ? nil : .seconds(imageSeconds)
        let indexSeconds = try env.int("TOOL_SEARCH_INDEX_SECONDS", default: 5, range: 0...86_400)
        c.tools.searchIndexInterval = indexSeconds == 0 ? nil : .seconds(indexSeconds)
        c.tools.maxPackageBytes = try env.int("TOOL_PACKAGE_MAX_BYTES", default: c.tools.maxPackageBytes, range: 1024...(1 << 30))
        switch env["PERSONA_CONTROL_CHANNEL"]?.lowercased() ?? "unix" {
        case "unix": c.containers.controlChannel = .unixSocket
        case "tcp":
            guard let url = env["PERSONA_CONTROL_PLANE_URL"], url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError("PERSONA_CONTROL_CHANNEL=tcp needs PERSONA_CONTROL_PLANE_URL, the http:// address containers reach the internal API at")
            }
            let publishHost = env["PERSONA_SUPERVISOR_PUBLISH_HOST"] ?? "127.0.0.1"
            guard Self.isLoopbackOrPrivate(publishHost) else {
                throw ConfigurationError("PERSONA_SUPERVISOR_PUBLISH_HOST must be a loopback or private address: a supervisor port is never published publicly")
            }
            c.containers.controlChannel = .tcp(publishHost: publishHost,
                                    supervisorHost: env["PERSONA_SUPERVISOR_HOST"] ?? "127.0.0.1",
                                    internalHost: env["PERSONA_INTERNAL_HOST"] ?? "127.0.0.1",
                                    internalPort: try env.int("PERSONA_INTERNAL_PORT", default: 3001, range: 1...65535),
                                    controlPlaneURL: url)
        default:
            throw ConfigurationError("PERSONA_CONTROL_CHANNEL must be unix or tcp")
        }
        c.benchCeilingFile = env["PERSONA_BENCH_CEILING_FILE"]
        if c.benchCeilingFile != nil, c.mode == .production {
            throw ConfigurationError("PERSONA_BENCH_CEILING_FILE is for benchmarks and is refused in production")
        }
        if let text = env["JWT_EXPIRES_IN"] {
            guard let seconds = parseDuration(text) else { throw ConfigurationError("JWT_EXPIRES_IN is not a duration like 15m or 24h") }
            c.accessTokenLifetime = seconds
        }
        if let text = env["JWT_REFRESH_EXPIRES_IN"] {
            guard let seconds = parseDuration(text) else { throw ConfigurationError("JWT_REFRESH_EXPIRES_IN is not a duration like 7d") }
            c.refreshTokenLifetime = seconds
        }
        try c.loadMemory(env)
        try c.loadEvents(env)
        try c.loadConnectors(env)
        try c.loadSecrets(env)
        return c
    }

    /// 127/8, ::1, 10/8, 172.16/12, 192.168/16 and fc00::/7.
    static func isLoopbackOrPrivate(_ address: String) -> Bool {
        if address == "::1" { return true }
        if address.lowercased().hasPrefix("fc") || address.lowercased().hasPrefix("fd") { return address.contains(":") }
        let parts = address.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4, address.split(separator: ".").count == 4 else { return false }
        switch (parts[0], parts[1]) {
        case (127, _), (10, _), (192, 168): return true
        case (172, 16...31): return true
        default: return false
        }
    }

    private mutating func loadSecrets(_ env: Environment) throws {
        var generated = mode == .development ? try DevelopmentSecrets.load(storagePath: storagePath) : [:]
        func secret(_ name: String) throws -> [UInt8] {
            if let value = env[name] {
                guard value.utf8.count >= 32 else {
                    throw ConfigurationError("\(name) must be at least 32 bytes long")
                }
                return Array(value.utf8)
            }
            guard mode == .development else { throw ConfigurationError("\(name) is required in production") }
            if generated[name] == nil { generated[name] = DevelopmentSecrets.randomHex(bytes: 32) }
            return Array(generated[name]!.utf8)
        }
        jwtSecret = try secret("JWT_SECRET")
        jwtRefreshSecret = try secret("JWT_REFRESH_SECRET")
        if let value = env["ENCRYPTION_KEY"] {
            guard let key = Self.parseEncryptionKey(value) else {
                throw ConfigurationError("ENCRYPTION_KEY must be 32 bytes: 64 hex characters, base64 of 32 bytes, or 32 raw characters")
            }
            encryptionKey = key
        } else {
            guard mode == .development else { throw ConfigurationError("ENCRYPTION_KEY is required in production") }
            if generated["ENCRYPTION_KEY"] == nil { generated["ENCRYPTION_KEY"] = DevelopmentSecrets.randomHex(bytes: 32) }
            encryptionKey = Self.parseEncryptionKey(generated["ENCRYPTION_KEY"]!)!
        }
        if jwtSecret == jwtRefreshSecret {
            throw ConfigurationError("JWT_SECRET and JWT_REFRESH_SECRET must differ")
        }
        if mode == .development { try DevelopmentSecrets.save(generated, storagePath: storagePath) }
    }

    /// Accepts exactly 32 bytes given as 64 hex characters, as base64, or raw.
    public static func parseEncryptionKey(_ value: String) -> [UInt8]? {
        if value.utf8.count == 64, let bytes = hexBytes(value) { return bytes }
        if let data = Data(base64Encoded: value), data.count == 32 { return Array(data) }
        if value.utf8.count == 32 { return Array(value.utf8) }
        return nil
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = hexNibble(chars[i]), let lo = hexNibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func hexNibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}

extension Environment {
    func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = self[key] else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            throw ConfigurationError("\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), not \(text)")
        }
        return parsed
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let text = self[key]?.lowercased() else { return value }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError("\(key) must be true or false, not \(text)")
        }
    }
}

extension Logger.Level {
    init?(seedName: String) {
        switch seedName.lowercased() {
        case "warn": self = .warning
        case "fatal": self = .critical
        default: self.init(rawValue: seedName.lowercased())
        }
    }
}
