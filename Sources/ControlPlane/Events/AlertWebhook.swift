import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PersonaCore
import PersonaKit
import PersonaStorage
import ServiceLifecycle

/// Delivers every alert event (`alert.opened`, `alert.resolved`) to `ALERT_WEBHOOK_URL` as a
/// JSON POST signed with `ALERT_WEBHOOK_SECRET`, in order, at least once: a failed delivery is
/// retried with exponential backoff (1 s, 2 s, 4 s, ... capped at 60 s) up to
/// ``WebhookSettings/maxAttempts`` times, then given up, logged and audited
/// (`alert.webhook_failed`). The position is kept in `platform_state`, so a restart resumes
/// after the last delivered alert. Receivers dedupe by `X-Persona-Delivery` (the event id).
///
/// Signature: `X-Persona-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`;
/// a receiver recomputes it over the raw body and refuses old timestamps (replays).
package final class AlertWebhook: Service, Sendable {
    let database: Database
    let http: HTTPClient
    let settings: WebhookSettings
    let startup: Gate
    let logger: Logger
    let events = PersonaEventRepository()
    let state = PlatformStateRepository()
    let audit = AuditRepository()
    static let cursorKey = "alert_webhook_cursor"

    package init(database: Database, http: HTTPClient, settings: WebhookSettings, startup: Gate, logger: Logger) {
        self.database = database
        self.http = http
        self.settings = settings
        self.startup = startup
        self.logger = logger
    }

    package func run() async throws {
        await startup.wait()
        guard settings.url != nil else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await deliverPending()
            } catch {
                logger.warning("alert webhook pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.settings.pollInterval) }
        }
    }

    /// Delivers the alert events after the cursor, one at a time and in order.
    package func deliverPending() async throws {
        let cursor = try await database.withConnection { db -> Int in
            if let text = try await self.state.get(Self.cursorKey, on: db), let value = Int(text) { return value }
            // First start with a webhook: alerts from now on, not the whole history.
            let head = try await self.events.head(.personas, on: db)
            try await self.state.set(Self.cursorKey, to: String(head), on: db)
            return head
        }
        let batch = try await database.withConnection { try await self.events.events(typePrefix: "alert.", after: cursor, limit: 100, on: $0) }
        for event in batch {
            if Task.isShuttingDownGracefully { return }
            let delivered = try await deliver(event)
            try await database.transaction { tx in
                if !delivered {
                    try await self.audit.insert(AuditEvent(userId: nil, personaId: event.owner, traceId: nil, eventType: "alert.webhook_failed",
                                                           eventCategory: "alert", description: "Alert webhook delivery given up",
                                                           metadata: ["eventId": .number(Double(event.seq)), "type": .string(event.type)]), on: tx)
                }
                try await self.state.set(Self.cursorKey, to: String(event.seq), on: tx)
            }
        }
    }

    /// POSTs one event until it is accepted or the attempts run out; `false` when given up.
    func deliver(_ event: StoredEvent) async throws -> Bool {
        guard let url = settings.url else { return true }
        let name = try await database.withConnection { try await PersonaRepository().find(id: event.owner, on: $0)?.name }
        let body = Self.body(event, personaName: name)
        var attempt = 0
        while true {
            attempt += 1
            let outcome: String
            var retry = true
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers = signedHeaders(event: event, body: body, now: Date())
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await http.execute(request, timeout: .seconds(Int64(settings.timeoutSeconds)))
                _ = try? await response.body.collect(upTo: 65_536)
                if (200..<300).contains(response.status.code) {
                    logger.info("alert webhook delivered", metadata: ["event_id": "\(event.seq)", "type": "\(event.type)", "attempt": "\(attempt)"])
                    return true
                }
                outcome = "HTTP \(response.status.code)"
                // A 4xx other than timeout or rate limit will not change on retry.
                retry = response.status.code >= 500 || response.status.code == 408 || response.status.code == 429
            } catch {
                outcome = "\(error)"
            }
            guard retry, attempt < settings.maxAttempts else {
                logger.error("alert webhook given up", metadata: ["event_id": "\(event.seq)", "attempts": "\(attempt)", "last": "\(outcome)"])
                return false
            }
            let delay = min(settings.retryBase * (1 << min(attempt - 1, 16)), .seconds(60))
            logger.warning("alert webhook failed, retrying", metadata: ["event_id": "\(event.seq)", "attempt": "\(attempt)",
                                                                         "error": "\(outcome)", "retry_in": "\(delay)"])
            try await Task.sleep(for: delay)
        }
    }

    func signedHeaders(event: StoredEvent, body: String, now: Date) -> HTTPHeaders {
        let timestamp = String(Int(now.timeIntervalSince1970))
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "persona-control-plane")
        headers.add(name: "X-Persona-Event", value: event.type)
        headers.add(name: "X-Persona-Delivery", value: String(event.seq))
        headers.add(name: "X-Persona-Signature", value: "t=\(timestamp),v1=\(Self.signature(secret: settings.secret, timestamp: timestamp, body: body))")
        return headers
    }

    /// Hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
    package static func signature(secret: String, timestamp: String, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// `{"id":seq,"type":...,"createdAt":...,"persona":{"id":...,"name":...},"alert":{...}}`.
    static func body(_ event: StoredEvent, personaName: String?) -> String {
        let alert = (try? JSONCoding.decode(JSONValue.self, from: event.data)) ?? .null
        let value: JSONValue = [
            "id": .number(Double(event.seq)), "type": .string(event.type), "createdAt": .string(JSONCoding.formatTimestamp(event.createdAt)),
            "persona": ["id": .string(event.owner), "name": personaName.map { .string($0) } ?? .null],
            "alert": alert,
        ]
        return (try? JSONCoding.encodeString(value)) ?? "{}"
    }
}

/// `ALERT_WEBHOOK_*`.
public struct WebhookSettings: Sendable {
    /// Where alerts are POSTed; `nil`: no webhook.
    public var url: String?
    /// The HMAC key of `X-Persona-Signature` (required with a URL, at least 16 bytes).
    public var secret = ""
    /// Attempts per alert before it is given up (`ALERT_WEBHOOK_MAX_ATTEMPTS`).
    public var maxAttempts = 8
    /// The first retry's delay; each next one doubles (`ALERT_WEBHOOK_RETRY_BASE_MS`).
    public var retryBase: Duration = .seconds(1)
    public var timeoutSeconds = 10
    /// How often new alerts are looked for.
    public var pollInterval: Duration = .seconds(1)
    public init() {}
}
