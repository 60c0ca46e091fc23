import Foundation
import Hummingbird
import PersonaKit

/// Platform settings an administrator can change at run time, with their defaults and bounds.
struct PlatformSettings: Codable, Sendable, Equatable {
    /// Whether users who are not admins may create personas.
    var allowUserPersonaCreation = true
    /// How many personas one user may own (admins are exempt).
    var maxPersonasPerUser = 50
    /// Memory limit of a new persona container, in MiB (seed: 2 GB).
    var defaultPersonaMemoryMb = 2048
    /// CPU shares of a new persona container (seed: 512).
    var defaultPersonaCpuShares = 512
    /// CPU limit of a new persona container in thousandths of a CPU (`NanoCpus`; shares are
    /// only a weight under contention).
    var defaultPersonaCpuMillis = 1000
    /// Process limit of a persona container (fork bombs stop here).
    var defaultPersonaPidsLimit = 512
    /// How often the reconciler restarts a crashed persona container (with backoff) before it
    /// marks it failed; 0 never restarts.
    var personaRestartMaxAttempts = 5
    /// How long audit events are kept.
    var auditRetentionDays = 365
    /// How long finished runs keep their state deltas and live-event log (the step timeline
    /// stays).
    var runHistoryRetentionDays = 30

    static let bounds: [String: ClosedRange<Int>] = [
        "maxPersonasPerUser": 0...100_000,
        "defaultPersonaMemoryMb": 128...262_144,
        "defaultPersonaCpuShares": 2...262_144,
        "defaultPersonaCpuMillis": 10...256_000,
        "defaultPersonaPidsLimit": 32...1_000_000,
        "personaRestartMaxAttempts": 0...100,
        "auditRetentionDays": 1...36_500,
        "runHistoryRetentionDays": 1...36_500,
    ]
    static let booleans: Set<String> = ["allowUserPersonaCreation"]
    static var keys: Set<String> { booleans.union(bounds.keys) }

    /// Stored values over the defaults; unknown or ill-typed stored values are ignored.
    init(stored: [String: JSONValue]) {
        if let v = stored["allowUserPersonaCreation"]?.boolValue { allowUserPersonaCreation = v }
        if let v = stored["maxPersonasPerUser"]?.intValue { maxPersonasPerUser = v }
        if let v = stored["defaultPersonaMemoryMb"]?.intValue { defaultPersonaMemoryMb = v }
        if let v = stored["defaultPersonaCpuShares"]?.intValue { defaultPersonaCpuShares = v }
        if let v = stored["defaultPersonaCpuMillis"]?.intValue { defaultPersonaCpuMillis = v }
        if let v = stored["defaultPersonaPidsLimit"]?.intValue { defaultPersonaPidsLimit = v }
        if let v = stored["personaRestartMaxAttempts"]?.intValue { personaRestartMaxAttempts = v }
        if let v = stored["auditRetentionDays"]?.intValue { auditRetentionDays = v }
        if let v = stored["runHistoryRetentionDays"]?.intValue { runHistoryRetentionDays = v }
    }

    /// Checks a partial update: known keys, right types, within bounds.
    static func validate(_ update: [String: JSONValue]) throws {
        guard !update.isEmpty else { throw APIError.validation("Nothing to change") }
        for (key, value) in update.sorted(by: { $0.key < $1.key }) {
            if booleans.contains(key) {
                guard value.boolValue != nil else { throw APIError.validation("\(key) must be a boolean") }
            } else if let range = bounds[key] {
                guard let int = value.intValue else { throw APIError.validation("\(key) must be a whole number") }
                guard range.contains(int) else {
                    throw APIError.validation("\(key) must be from \(range.lowerBound) to \(range.upperBound)")
                }
            } else {
                throw APIError.validation("Unknown setting '\(key)'")
            }
        }
    }
}

extension AppServices {
    func loadSettings() async throws -> PlatformSettings {
        PlatformSettings(stored: try await database.withConnection { try await settings.all(on: $0) })
    }
}

/// `GET/PUT /api/admin/settings` and `GET /api/audit`.
struct AdminSettingsController: Sendable {
    let services: AppServices

    func addRoutes(settings group: RouterGroup<AppRequestContext>, audit: RouterGroup<AppRequestContext>) {
        group.get { _, context in
            _ = try context.requireAdmin()
            return try JSONResponse.data(try await services.loadSettings())
        }
        group.put { request, context in
            _ = try context.requireAdmin()
            let buffer = try await request.collectBody(limit: 16_384)
            guard case .object(let update)? = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(buffer: buffer)) else {
                throw APIError.validation("Request body must be a JSON object")
            }
            try PlatformSettings.validate(update)
            try await services.database.transaction { tx in
                for (key, value) in update {
                    try await services.settings.set(key, to: value, by: context.identity?.id, now: Date(), on: tx)
                }
                try await services.audit.insert(AuditEvent(context, type: "settings.updated", category: "settings",
                                                           description: "Platform settings changed",
                                                           metadata: ["changes": JSONValue.object(update)]), on: tx)
            }
            return try JSONResponse.data(try await services.loadSettings())
        }
        audit.get { request, context in
            _ = try context.requireAdmin()
            let page = try Page(request: request)
            let filter = try Self.filter(request)
            let rows = try await services.database.withConnection {
                try await services.audit.list(filter: filter, cursor: page.cursor, limit: page.limit + 1, on: $0)
            }
            let (events, next) = page.split(rows, id: \.id)
            return try JSONResponse.data(events, nextCursor: next)
        }
    }

    static func filter(_ request: Request) throws -> AuditFilter {
        let query = request.uri.queryParameters
        func time(_ name: String) throws -> Date? {
            guard let text = query.get(name) else { return nil }
            guard let date = JSONCoding.parseTimestamp(text) else {
                throw APIError.validation("\(name) must be an ISO 8601 time such as 2026-01-31T12:00:00Z")
            }
            return date
        }
        if let trace = query.get("traceId"), trace.count != 32 || !trace.allSatisfy(\.isHexDigit) {
            throw APIError.validation("traceId must be 32 hex characters")
        }
        return AuditFilter(userId: query.get("userId"), personaId: query.get("personaId"),
                           eventType: query.get("type") ?? query.get("eventType"),
                           traceId: query.get("traceId")?.lowercased(), from: try time("from"), to: try time("to"))
    }
}
