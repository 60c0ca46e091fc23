import Foundation
import Synchronization

/// Fixed-window counters keyed by any string (token, client address, account). Thread-safe
/// and synchronous, so the hot path takes one lock and no actor hop.
final class RateLimiter: Sendable {
    struct Decision: Sendable {
        var allowed: Bool
        /// Seconds until the window resets (for `Retry-After`).
        var retryAfter: Int
        var remaining: Int
    }

    private struct Window {
        var start: Double
        var count: Int
    }

    private let limit: Int
    private let window: Double
    private let state = Mutex<(windows: [String: Window], lastSweep: Double)>(([:], 0))

    init(limit: Int, windowSeconds: Double) {
        self.limit = limit
        self.window = windowSeconds
    }

    /// Counts one hit for `key` and says whether it is within the limit.
    func hit(_ key: String, now: Double = Date().timeIntervalSince1970) -> Decision {
        state.withLock { state in
            if now - state.lastSweep > window {
                state.windows = state.windows.filter { now - $0.value.start < window }
                state.lastSweep = now
            }
            var entry = state.windows[key] ?? Window(start: now, count: 0)
            if now - entry.start >= window { entry = Window(start: now, count: 0) }
            entry.count += 1
            state.windows[key] = entry
            let retry = Int((entry.start + window - now).rounded(.up))
            return Decision(allowed: entry.count <= limit, retryAfter: max(1, retry), remaining: max(0, limit - entry.count))
        }
    }

    /// Whether `key` is already over the limit, without counting a hit.
    func check(_ key: String, now: Double = Date().timeIntervalSince1970) -> Decision {
        state.withLock { state in
            guard let entry = state.windows[key], now - entry.start < window else {
                return Decision(allowed: true, retryAfter: 0, remaining: limit)
            }
            let retry = Int((entry.start + window - now).rounded(.up))
            return Decision(allowed: entry.count < limit, retryAfter: max(1, retry), remaining: max(0, limit - entry.count))
        }
    }

    /// Forgets `key` (a successful login clears its account's failures).
    func reset(_ key: String) {
        _ = state.withLock { $0.windows.removeValue(forKey: key) }
    }
}
