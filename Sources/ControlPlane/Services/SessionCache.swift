import Foundation
import Synchronization
import PersonaStorage

/// Verified sessions remembered for a moment, so an authenticated request usually costs no
/// query. Logout and user changes drop entries at once in this process; other processes see
/// the change within the TTL.
final class SessionCache: Sendable {
    private let ttl: Double
    private let entries = Mutex<[String: (record: SessionRecord, fetchedAt: Double)]>([:])

    init(ttl: Double) {
        self.ttl = ttl
    }

    func get(_ id: String, now: Double = Date().timeIntervalSince1970) -> SessionRecord? {
        entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            if now - entry.fetchedAt > ttl {
                entries[id] = nil
                return nil
            }
            return entry.record
        }
    }

    func put(_ record: SessionRecord, now: Double = Date().timeIntervalSince1970) {
        guard ttl > 0 else { return }
        entries.withLock { entries in
            if entries.count > 50_000 { entries.removeAll(keepingCapacity: true) }
            entries[record.id] = (record, now)
        }
    }

    func remove(_ id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    func remove(userId: String) {
        entries.withLock { entries in entries = entries.filter { $0.value.record.userId != userId } }
    }
}
