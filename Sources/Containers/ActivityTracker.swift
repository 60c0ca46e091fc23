import Foundation
import Synchronization

/// What this process knows of each persona's activity: when it last wrote `last_active_at`
/// (so a busy persona costs one write per `activityWriteSeconds`, not one per call), and the
/// tool calls it has in flight (the idle sweep never pauses a persona under one).
package final class ActivityTracker: Sendable {
    private struct State {
        var written: [String: Date] = [:]
        var inFlight: [String: Int] = [:]
        var unpauses: [String: Int] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// Whether `last_active_at` needs a write now (none in the last `interval` seconds); if
    /// so it counts as written.
    package func claimWrite(_ personaId: String, now: Date, interval: Double) -> Bool {
        state.withLock { state in
            if let last = state.written[personaId], now.timeIntervalSince(last) < interval, now >= last { return false }
            state.written[personaId] = now
            return true
        }
    }

    /// Forgets the last write (it failed, or the row was replaced): the next activity writes.
    package func forgetWrite(_ personaId: String) {
        state.withLock { _ = $0.written.removeValue(forKey: personaId) }
    }

    /// A tool call of the persona begins.
    package func begin(_ personaId: String) {
        state.withLock { $0.inFlight[personaId, default: 0] += 1 }
    }

    /// A tool call of the persona ended.
    package func end(_ personaId: String) {
        state.withLock { state in
            let left = (state.inFlight[personaId] ?? 1) - 1
            state.inFlight[personaId] = left > 0 ? left : nil
        }
    }

    /// Tool calls of the persona in flight in this process.
    package func inFlight(_ personaId: String) -> Int {
        state.withLock { $0.inFlight[personaId] ?? 0 }
    }

    /// An unpause of the persona's container is sent to the engine.
    package func countUnpause(_ personaId: String) {
        state.withLock { $0.unpauses[personaId, default: 0] += 1 }
    }

    /// Unpauses this process sent for the persona's container (wakes that coalesced send one).
    package func unpauses(_ personaId: String) -> Int {
        state.withLock { $0.unpauses[personaId] ?? 0 }
    }
}
