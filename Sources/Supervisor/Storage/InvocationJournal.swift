#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
import PersonaCore

/// Every invocation, keyed by id and (when given) its idempotency key. A key that is already
/// journaled never runs again: its recorded result is returned instead.
public struct InvocationJournal: Sendable {
    /// What the journal knows about an idempotency key.
    public enum Lookup: Sendable {
        case none
        /// Finished earlier: the recorded result.
        case finished(InvocationResult, argumentsDigest: String)
        /// Started but never finished (the supervisor stopped meanwhile), or running now.
        case unfinished(id: String, tool: String, argumentsDigest: String, traceId: String)
    }

    let db: SQLiteDatabase

    public init(db: SQLiteDatabase) {
        self.db = db
    }

    /// Marks invocations a previous supervisor run left `running` as `interrupted`.
    @discardableResult
    public func markInterrupted() throws(SupervisorError) -> Int {
        let rows = try db.execute("SELECT id, tool, trace_id, started_at FROM invocations WHERE status = 'running'")
        for row in rows {
            guard let id = row[0].text, let tool = row[1].text, let trace = row[2].text else { continue }
            let result = InvocationResult(id: id, tool: tool, status: .interrupted, errorCode: "interrupted", traceId: trace)
            try finish(result)
        }
        return rows.count
    }

    public func lookup(idempotencyKey key: String) throws(SupervisorError) -> Lookup {
        guard let row = try db.execute(
            "SELECT id, tool, status, arguments_digest, trace_id, result FROM invocations WHERE idempotency_key = ?",
            [.text(key)]).first
        else { return .none }
        let digest = row[3].text ?? ""
        if row[2].text != InvocationStatus.running.rawValue, let blob = row[5].blob,
           let result = try? JSONDecoder().decode(InvocationResult.self, from: Data(blob)) {
            return .finished(result, argumentsDigest: digest)
        }
        return .unfinished(id: row[0].text ?? "", tool: row[1].text ?? "", argumentsDigest: digest, traceId: row[4].text ?? "")
    }

    /// Records a started invocation. Throws `storage_conflict` when the key is already taken.
    public func begin(id: String, tool: String, idempotencyKey: String?, argumentsDigest: String, traceId: String,
                      at date: Date = Date()) throws(SupervisorError) {
        try db.execute(
            "INSERT INTO invocations (id, tool, idempotency_key, arguments_digest, status, trace_id, started_at) VALUES (?, ?, ?, ?, 'running', ?, ?)",
            [.text(id), .text(tool), idempotencyKey.map(SQLiteValue.text) ?? .null, .text(argumentsDigest), .text(traceId),
             .real(date.timeIntervalSince1970)])
    }

    /// Records the final result of an invocation.
    public func finish(_ result: InvocationResult, at date: Date = Date()) throws(SupervisorError) {
        var stored = result
        stored.replayed = false
        let body: Data
        do { body = try JSONEncoder().encode(stored) } catch {
            throw SupervisorError("storage_error", "could not encode a result", underlying: error)
        }
        try db.execute(
            "UPDATE invocations SET status = ?, finished_at = ?, duration_ms = ?, result = ? WHERE id = ?",
            [.text(result.status.rawValue), .real(date.timeIntervalSince1970), .integer(Int64(result.durationMs)),
             .blob(body), .text(result.id)])
    }

    /// The most recent invocations, newest first.
    public func recent(limit: Int = 10) throws(SupervisorError) -> [InvocationSummary] {
        try db.execute(
            "SELECT id, tool, status, started_at, duration_ms, trace_id FROM invocations ORDER BY started_at DESC, id DESC LIMIT ?",
            [.integer(Int64(limit))]
        ).map { row in
            InvocationSummary(
                id: row[0].text ?? "", tool: row[1].text ?? "",
                status: InvocationStatus(rawValue: row[2].text ?? "") ?? .failed,
                startedAt: Date(timeIntervalSince1970: row[3].real ?? 0),
                durationMs: row[4].integer.map { Int($0) }, traceId: row[5].text ?? "")
        }
    }
}

/// A stable digest of arguments (canonical JSON with sorted keys, FNV-1a 64) so a reused
/// idempotency key with different arguments is recognised as a conflict.
public func argumentsDigest(_ value: JSONValue) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func feed(_ text: String) {
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
    }
    func walk(_ value: JSONValue) {
        switch value {
        case .null: feed("n")
        case .bool(let b): feed(b ? "t" : "f")
        case .number(let d): feed("#\(d)")
        case .string(let s): feed("s\(s.utf8.count):\(s)")
        case .array(let items):
            feed("[")
            items.forEach(walk)
            feed("]")
        case .object(let members):
            feed("{")
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                feed("k\(key.utf8.count):\(key)")
                walk(member)
            }
            feed("}")
        }
    }
    walk(value)
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
