import ControlPlane
import Foundation
import Logging
import Testing
import PersonaStorage
import PersonaCore

@Suite("Configuration")
struct ConfigurationTests {
    static let strong = "0123456789abcdef0123456789abcdef-strong"

    func temporaryStorage() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("persona-config-\(UUID().uuidString)").path
    }

    @Test("production refuses missing or short secrets and bad encryption keys")
    func productionRefusesWeakSecrets() throws {
        let base = ["PERSONA_ENV": "production", "STORAGE_PATH": temporaryStorage(),
                    "JWT_SECRET": Self.strong, "JWT_REFRESH_SECRET": Self.strong + "-refresh",
                    "ENCRYPTION_KEY": String(repeating: "ab", count: 32)]
        _ = try AppConfiguration.load(environment: Environment(base))
        for (key, value) in [("JWT_SECRET", nil), ("JWT_SECRET", "short"), ("JWT_REFRESH_SECRET", "also-short"),
                             ("ENCRYPTION_KEY", nil), ("ENCRYPTION_KEY", "tooshort"), ("ENCRYPTION_KEY", String(repeating: "zz", count: 32))] as [(String, String?)] {
            var env = base
            env[key] = value
            #expect(throws: ConfigurationError.self, "\(key)=\(value ?? "<unset>")") {
                try AppConfiguration.load(environment: Environment(env))
            }
        }
    }

    @Test("ALERT_WEBHOOK_URL needs an http(s) URL and a signing secret of 16+ bytes; the retry settings are read")
    func alertWebhookSettings() throws {
        let storage = temporaryStorage()
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let base = ["STORAGE_PATH": storage, "ALERT_WEBHOOK_URL": "https://hooks.example.com/persona"]
        for env in [base, base.merging(["ALERT_WEBHOOK_SECRET": "short"]) { $1 },
                    base.merging(["ALERT_WEBHOOK_URL": "ftp://x", "ALERT_WEBHOOK_SECRET": Self.strong]) { $1 }] {
            #expect(throws: ConfigurationError.self, "\(env)") { try AppConfiguration.load(environment: Environment(env)) }
        }
        let loaded = try AppConfiguration.load(environment: Environment(base.merging([
            "ALERT_WEBHOOK_SECRET": Self.strong, "ALERT_WEBHOOK_MAX_ATTEMPTS": "3", "ALERT_WEBHOOK_RETRY_BASE_MS": "250",
            "WEBSOCKET_QUEUE_LIMIT": "256", "WEBSOCKET_PORT": "3001",
        ]) { $1 }))
        #expect(loaded.webhook.url == "https://hooks.example.com/persona")
        #expect(loaded.webhook.maxAttempts == 3)
        #expect(loaded.webhook.retryBase == .milliseconds(250))
        #expect(loaded.events.queueLimit == 256)
        #expect(loaded.websocketPort == 3001)
        #expect(try AppConfiguration.load(environment: Environment(["STORAGE_PATH": storage])).webhook.url == nil)
    }

    @Test("ENCRYPTION_KEY accepts 64 hex characters, base64 of 32 bytes, or 32 raw bytes")
    func encryptionKeyForms() {
        let bytes = (0..<32).map { UInt8($0) }
        #expect(AppConfiguration.parseEncryptionKey(bytes.map { String(format: "%02x", $0) }.joined()) == bytes)
        #expect(AppConfiguration.parseEncryptionKey(Data(bytes).base64EncodedString()) == bytes)
        #expect(AppConfiguration.parseEncryptionKey("abcdefghijklmnopqrstuvwxyz012345")?.count == 32)
        #expect(AppConfiguration.parseEncryptionKey("abc") == nil)
        #expect(AppConfiguration.parseEncryptionKey(Data(bytes.prefix(16)).base64EncodedString()) == nil)
    }

    @Test("development mode generates secrets once and keeps them under STORAGE_PATH")
    func developmentSecretsPersist() throws {
        let storage = temporaryStorage()
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let first = try AppConfiguration.load(environment: Environment(["STORAGE_PATH": storage]))
        let second = try AppConfiguration.load(environment: Environment(["STORAGE_PATH": storage]))
        #expect(first.jwtSecret.count >= 32)
        #expect(first.jwtSecret == second.jwtSecret)
        #expect(first.encryptionKey == second.encryptionKey)
        #expect(first.jwtSecret != first.jwtRefreshSecret)
        let attributes = try FileManager.default.attributesOfItem(atPath: storage + "/dev-secrets.env")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test("seed variables are read, and bad values are refused with the variable's name")
    func seedVariables() throws {
        let config = try AppConfiguration.load(environment: Environment([
            "STORAGE_PATH": temporaryStorage(), "PORT": "4123", "JWT_EXPIRES_IN": "15m", "JWT_REFRESH_EXPIRES_IN": "7d",
            "RATE_LIMIT_ENABLED": "false", "RATE_LIMIT_WINDOW_MS": "30000", "RATE_LIMIT_MAX_REQUESTS": "7",
            "LOG_LEVEL": "warn", "CORS_ORIGIN": "http://localhost:3000", "MAX_FILE_SIZE": "1024",
            "DATABASE_URL": "postgresql://u:p@db.example:6543/persona",
        ]))
        #expect(config.port == 4123)
        #expect(config.accessTokenLifetime == 900)
        #expect(config.refreshTokenLifetime == 604_800)
        #expect(config.rateLimit.enabled == false && config.rateLimit.windowSeconds == 30 && config.rateLimit.maxRequests == 7)
        #expect(config.logLevel == .warning)
        #expect(config.maxFileSize == 1024)
        #expect(config.databaseURL == "postgresql://u:p@db.example:6543/persona")
        for (key, value) in [("PORT", "http"), ("JWT_EXPIRES_IN", "soon"), ("RATE_LIMIT_ENABLED", "maybe"),
                             ("DATABASE_URL", "mysql://x"), ("LOG_LEVEL", "loud")] {
            #expect(throws: ConfigurationError.self) {
                try AppConfiguration.load(environment: Environment(["STORAGE_PATH": temporaryStorage(), key: value]))
            }
        }
    }

    @Test("a DATABASE_URL with ?host=/directory reaches PostgreSQL through its unix socket, as libpq's does")
    func postgresUnixSocket() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["PERSONA_TEST_DATABASE_SOCKET_URL"],
                               "scripts/test sets PERSONA_TEST_DATABASE_SOCKET_URL after starting PostgreSQL")
        #expect(url.contains("@/") && url.contains("?host=/"))
        func open(_ url: String) throws -> Database {
            try Database.open(configuration: AppConfiguration.load(environment: Environment([
                "STORAGE_PATH": temporaryStorage(), "DATABASE_URL": url,
            ])), logger: Logger(label: "test"))
        }
        let database = try open(url)
        #expect(database.kind == .postgres)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.service.run() }
            defer { group.cancelAll() }
            try await database.ping()
        }
        // No host and no socket directory, or a relative one: refused by name, not tried.
        for bad in ["postgres://u:p@/db", "postgres://u:p@/db?host=relative/dir"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { _ = try open(bad) }
        }
    }

    @Test(".env files parse comments, quotes and export")
    func dotenv() throws {
        let parsed = try Environment.parseDotenv("""
            # comment
            export A=1
            B="two words\\nline"
            C='single # kept'
            D=plain # trailing comment

            """)
        #expect(parsed == ["A": "1", "B": "two words\nline", "C": "single # kept", "D": "plain"])
        #expect(throws: ConfigurationError.self) { try Environment.parseDotenv("NOEQUALS") }
    }
}
