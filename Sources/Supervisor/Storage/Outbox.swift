#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaCore

/// Reports for the control plane that must not be lost: stored first, delivered in order by
/// the ``ControlPlaneReporter``, deleted once acknowledged.
public struct Outbox: Sendable {
    /// One stored report.
    public struct Entry: Sendable, Hashable {
        /// Strictly increasing position (SQLite `AUTOINCREMENT`: never reused).
        public var sequence: Int64
        /// Route on the control plane, e.g. `/internal/v1/supervisors/register`.
        public var path: String
        public var body: [UInt8]
        public var attempts: Int
    }

    let db: SQLiteDatabase

    public init(db: SQLiteDatabase) {
        self.db = db
    }

    /// Appends a report and returns its sequence number.
    @discardableResult
    public func enqueue(path: String, body: [UInt8], at date: Date = Date()) throws(SupervisorError) -> Int64 {
        let rows = try db.execute(
            "INSERT INTO outbox (path, body, created_at) VALUES (?, ?, ?) RETURNING seq",
            [.text(path), .bytes(body), .real(date.timeIntervalSince1970)])
        return rows.first?.first?.integer ?? 0
    }

    /// The oldest `limit` reports, oldest first.
    public func peek(limit: Int = 1) throws(SupervisorError) -> [Entry] {
        try db.execute("SELECT seq, path, body, attempts FROM outbox ORDER BY seq LIMIT ?", [.integer(Int64(limit))]).map { row in
            Entry(sequence: row[0].integer ?? 0, path: row[1].text ?? "", body: row[2].bytes ?? [],
                  attempts: Int(row[3].integer ?? 0))
        }
    }

    /// Removes delivered reports (everything up to and including `sequence`).
    public func acknowledge(through sequence: Int64) throws(SupervisorError) {
        try db.execute("DELETE FROM outbox WHERE seq <= ?", [.integer(sequence)])
    }

    /// Counts a failed delivery attempt on `sequence`.
    public func recordAttempt(_ sequence: Int64) throws(SupervisorError) {
        try db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", [.integer(sequence)])
    }

    /// Reports waiting.
    public func depth() throws(SupervisorError) -> Int {
        Int(try db.execute("SELECT COUNT(*) FROM outbox").first?.first?.integer ?? 0)
    }
}
