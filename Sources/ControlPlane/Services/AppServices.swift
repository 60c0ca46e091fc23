import AsyncHTTPClient
import Foundation
import Hummingbird
import SQLKit
import HummingbirdBcrypt
import Logging
import Prometheus
import PersonaCore
import PersonaStorage

/// Everything a controller needs, built once by ``buildApplication(configuration:logger:)``.
public struct AppServices: Sendable {
    public let configuration: AppConfiguration
    public let database: Database
    public let metrics: PrometheusCollectorRegistry
    let tokens: TokenService
    let passwords: PasswordHasher
    let secretBox: SecretBox
    let sessions: SessionCache
    let users = UserRepository()
    let sessionStore = SessionRepository()
    let personas = PersonaRepository()
    let secrets = SecretRepository()
    let audit = AuditRepository()
    let settings = SettingsRepository()
    let agents = AgentRepository()
    let runs = RunRepository()
    let approvals = RunApprovalRepository()
    public let runWakeUp = Wakeup()
    /// Opened after migrations and the admin bootstrap.
    public let startup = Gate()
    /// The shared HTTP client (LLM gateway, supervisors), shut down last.
    public let http: HTTPClient
    /// Persona containers: provisioning, status, tools.
    public let containers: ContainerManager
    /// Document memory: uploads, chunks, retrieval.
    public let memory: MemoryService
    let requestLimiter: RateLimiter
    let loginAccountLimiter: RateLimiter
    let loginAddressLimiter: RateLimiter
    /// A bcrypt hash (at the configured cost) of a random password, verified against when the
    /// email is unknown so a wrong email costs the same time as a wrong password.
    let decoyPasswordHash: String

    init(configuration: AppConfiguration, database: Database, logger: Logger) async {
        self.configuration = configuration
        self.database = database
        self.http = HTTPClient(eventLoopGroupProvider: .singleton)
        self.metrics = PrometheusCollectorRegistry()
        self.tokens = await TokenService(configuration: configuration)
        self.passwords = PasswordHasher(cost: configuration.bcryptCost)
        self.secretBox = SecretBox(key: configuration.encryptionKey)
        self.containers = ContainerManager(configuration: configuration, database: database, secretBox: secretBox, http: http,
                                           logger: logger)
        self.memory = MemoryService(configuration: configuration, database: database,
                                    embedder: MemoryEmbedder(configuration: configuration, http: http))
        self.sessions = SessionCache(ttl: configuration.sessionCacheTTL)
        self.requestLimiter = RateLimiter(limit: configuration.rateLimit.maxRequests,
                                          windowSeconds: configuration.rateLimit.windowSeconds)
        self.loginAccountLimiter = RateLimiter(limit: configuration.loginLimit.maxPerAccount,
                                               windowSeconds: configuration.loginLimit.windowSeconds)
        self.decoyPasswordHash = Bcrypt.hash(DevelopmentSecrets.randomHex(bytes: 16), cost: configuration.bcryptCost)
        self.loginAddressLimiter = RateLimiter(limit: configuration.loginLimit.maxPerAddress,
                                               windowSeconds: configuration.loginLimit.windowSeconds)
    }

    /// The client address: the peer, or the first `X-Forwarded-For` hop behind a trusted proxy.
    func clientAddress(_ forwardedFor: String?, context: AppRequestContext) -> String {
        if configuration.trustProxy, let first = forwardedFor?.split(separator: ",").first {
            return first.trimmingCharacters(in: .whitespaces)
        }
        return context.peerAddress ?? "local"
    }
}

extension AuditEvent {
    /// An event attributed to the request's user, trace and client address.
    init(_ context: AppRequestContext, type: String, category: String, description: String,
         personaId: String? = nil, userId: String? = nil, metadata: [String: any JSONValueConvertible] = [:]) {
        self.init(userId: userId ?? context.identity?.id, personaId: personaId, traceId: context.trace.traceId,
                  eventType: type, eventCategory: category, description: description,
                  metadata: metadata.mapValues(\.jsonValue), clientAddress: context.peerAddress)
    }
}

import PersonaKit

/// Values that can go into audit metadata.
protocol JSONValueConvertible: Sendable {
    var jsonValue: JSONValue { get }
}

extension String: JSONValueConvertible { var jsonValue: JSONValue { .string(self) } }
extension Int: JSONValueConvertible { var jsonValue: JSONValue { .number(Double(self)) } }
extension Bool: JSONValueConvertible { var jsonValue: JSONValue { .bool(self) } }
extension JSONValue: JSONValueConvertible { var jsonValue: JSONValue { self } }
extension Array: JSONValueConvertible where Element == String { var jsonValue: JSONValue { .array(map { .string($0) }) } }

extension AppServices {
    /// Opens a sealed persona secret. For the server's own use (tools, tests); never for a response.
    public func openSecret(_ sealed: String, personaId: String, name: String) throws -> String {
        try secretBox.open(sealed, personaId: personaId, name: name)
    }
}

extension AppServices {
    /// Runs `delete` and, when it removed something, records `event` in the same transaction.
    /// Answers 204, or 404 naming `what` when there was nothing to delete.
    func auditedDelete(what: String, event: AuditEvent,
                       _ delete: @Sendable (any SQLDatabase) async throws -> Bool) async throws -> Response {
        let deleted = try await database.transaction { tx in
            let deleted = try await delete(tx)
            if deleted { try await audit.insert(event, on: tx) }
            return deleted
        }
        guard deleted else { throw APIError.notFound(what) }
        return JSONResponse.noContent()
    }
}
