import Foundation
import PersonaCore

extension AppConfiguration {
    /// `WEBSOCKET_*` (the live event stream) and `ALERT_WEBHOOK_*` (alert delivery).
    mutating func loadEvents(_ env: Environment) throws {
        events.queueLimit = try env.int("WEBSOCKET_QUEUE_LIMIT", default: events.queueLimit, range: 16...1_000_000)
        events.pollInterval = .milliseconds(try env.int("WEBSOCKET_POLL_MS", default: 10, range: 1...10_000))
        guard let url = env["ALERT_WEBHOOK_URL"], !url.isEmpty else { return }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
            throw ConfigurationError("ALERT_WEBHOOK_URL must be an http:// or https:// URL")
        }
        guard let secret = env["ALERT_WEBHOOK_SECRET"], secret.utf8.count >= 16 else {
            throw ConfigurationError("ALERT_WEBHOOK_SECRET (at least 16 bytes) is required with ALERT_WEBHOOK_URL: it signs each delivery")
        }
        webhook.url = url
        webhook.secret = secret
        webhook.maxAttempts = try env.int("ALERT_WEBHOOK_MAX_ATTEMPTS", default: webhook.maxAttempts, range: 1...100)
        webhook.retryBase = .milliseconds(try env.int("ALERT_WEBHOOK_RETRY_BASE_MS", default: 1000, range: 10...600_000))
        webhook.timeoutSeconds = try env.int("ALERT_WEBHOOK_TIMEOUT_SECONDS", default: webhook.timeoutSeconds, range: 1...300)
    }
}
