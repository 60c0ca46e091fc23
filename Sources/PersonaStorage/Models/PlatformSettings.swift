import Foundation
import PersonaKit

/// Platform settings an administrator can change at run time, with their defaults and bounds.
package struct PlatformSettings: Codable, Sendable, Equatable {
    /// Whether users who are not admins may create personas.
    package var allowUserPersonaCreation = true
    /// How many personas one user may own (admins are exempt).
    package var maxPersonasPerUser = 50
    /// Memory limit of a new persona container, in MiB (seed: 2 GB).
    package var defaultPersonaMemoryMb = 2048
    /// CPU shares of a new persona container (seed: 512).
    package var defaultPersonaCpuShares = 512
    /// CPU limit of a new persona container in thousandths of a CPU (`NanoCpus`; shares are
    /// only a weight under contention).
    package var defaultPersonaCpuMillis = 1000
    /// Process limit of a persona container (fork bombs stop here).
    package var defaultPersonaPidsLimit = 512
    /// How often the reconciler restarts a crashed persona container (with backoff) before it
    /// marks it failed; 0 never restarts.
    package var personaRestartMaxAttempts = 5
    /// How long audit events are kept.
    package var auditRetentionDays = 365
    /// How long finished runs keep their state deltas and live-event log (the step timeline
    /// stays).
    package var runHistoryRetentionDays = 30
    /// How long health samples are kept (after a day they are 5-minute rows).
    package var healthRetentionDays = 30
    /// A persona's CPU above this percent (of one CPU) in `alertCpuSamples` health samples in
    /// a row opens a `cpu_high` alert.
    package var alertCpuPercent = 80
    package var alertCpuSamples = 2
    /// Memory above this percent of the container's limit opens a `memory_high` alert.
    package var alertMemoryPercent = 90
    /// A persona without a tool call, run step, desktop request or trigger for this many
    /// minutes has its container paused (memory kept; the next use unpauses it); 0: never.
    package var personaIdleMinutes = 15
    /// ...and stopped after this many idle hours (files kept; the next use starts it); 0: never.
    package var personaStopAfterIdleHours = 24

    package static let bounds: [String: ClosedRange<Int>] = [
        "maxPersonasPerUser": 0...100_000,
        "defaultPersonaMemoryMb": 128...262_144,
        "defaultPersonaCpuShares": 2...262_144,
        "defaultPersonaCpuMillis": 10...256_000,
        "defaultPersonaPidsLimit": 32...1_000_000,
        "personaRestartMaxAttempts": 0...100,
        "auditRetentionDays": 1...36_500,
        "runHistoryRetentionDays": 1...36_500,
        "healthRetentionDays": 1...3_650,
        "alertCpuPercent": 1...25_600,
        "alertCpuSamples": 1...100,
        "alertMemoryPercent": 1...100,
        "personaIdleMinutes": 0...10_080,
        "personaStopAfterIdleHours": 0...8_760,
    ]
    package static let booleans: Set<String> = ["allowUserPersonaCreation"]
    package static var keys: Set<String> { booleans.union(bounds.keys) }

    /// Stored values over the defaults; unknown or ill-typed stored values are ignored.
    package init(stored: [String: JSONValue]) {
        if let v = stored["allowUserPersonaCreation"]?.boolValue { allowUserPersonaCreation = v }
        if let v = stored["maxPersonasPerUser"]?.intValue { maxPersonasPerUser = v }
        if let v = stored["defaultPersonaMemoryMb"]?.intValue { defaultPersonaMemoryMb = v }
        if let v = stored["defaultPersonaCpuShares"]?.intValue { defaultPersonaCpuShares = v }
        if let v = stored["defaultPersonaCpuMillis"]?.intValue { defaultPersonaCpuMillis = v }
        if let v = stored["defaultPersonaPidsLimit"]?.intValue { defaultPersonaPidsLimit = v }
        if let v = stored["personaRestartMaxAttempts"]?.intValue { personaRestartMaxAttempts = v }
        if let v = stored["auditRetentionDays"]?.intValue { auditRetentionDays = v }
        if let v = stored["runHistoryRetentionDays"]?.intValue { runHistoryRetentionDays = v }
        if let v = stored["healthRetentionDays"]?.intValue { healthRetentionDays = v }
        if let v = stored["alertCpuPercent"]?.intValue { alertCpuPercent = v }
        if let v = stored["alertCpuSamples"]?.intValue { alertCpuSamples = v }
        if let v = stored["alertMemoryPercent"]?.intValue { alertMemoryPercent = v }
        if let v = stored["personaIdleMinutes"]?.intValue { personaIdleMinutes = v }
        if let v = stored["personaStopAfterIdleHours"]?.intValue { personaStopAfterIdleHours = v }
    }

    /// Checks a partial update: known keys, right types, within bounds.
    package static func validate(_ update: [String: JSONValue]) throws {
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
