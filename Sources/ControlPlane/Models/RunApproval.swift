import Foundation
import PersonaKit
import SQLKit

/// A tool call waiting for (or given) a person's decision (`run_approvals`).
struct RunApproval: Codable, Sendable, Equatable {
    enum Status: String, Codable, Sendable { case pending, approved, rejected }

    var step: Int
    var callId: String
    var tool: String
    var arguments: JSONValue
    var status: Status
    var comment: String?
    var decidedBy: String?
    var createdAt: Date
    var decidedAt: Date?

    init(row: any SQLRow) throws {
        step = try row.decode(column: "step", as: Int.self)
        callId = try row.decode(column: "call_id", as: String.self)
        tool = try row.decode(column: "tool", as: String.self)
        arguments = (try? JSONCoding.decode(JSONValue.self, from: try row.decode(column: "arguments", as: String.self))) ?? .null
        status = Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending
        comment = try row.decode(column: "comment", as: String?.self)
        decidedBy = try row.decode(column: "decided_by", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        decidedAt = try row.decode(column: "decided_at", as: Date?.self)
    }
}

/// Thrown by the tools step when a call needs a person's approval first: the run waits in
/// `awaiting_approval`, with no side effect of that step done yet.
struct AwaitingApproval: Error, Sendable {
    var calls: [String]
}

/// `run_approvals` access.
struct RunApprovalRepository: Sendable {
    func list(runId: String, on db: any SQLDatabase) async throws -> [RunApproval] {
        try await db.select().columns("step", "call_id", "tool", "arguments", "status", "comment", "decided_by", "created_at", "decided_at")
            .from("run_approvals").where("run_id", .equal, runId).orderBy("step").orderBy("call_id").all().map(RunApproval.init(row:))
    }

    /// Records pending approvals (a call already recorded keeps its row).
    func request(runId: String, step: Int, calls: [(id: String, tool: String, arguments: JSONValue)], now: Date,
                 on db: any SQLDatabase) async throws {
        for call in calls {
            try await db.raw("""
                INSERT INTO run_approvals (run_id, step, call_id, tool, arguments, status, created_at)
                VALUES (\(bind: runId), \(bind: step), \(bind: call.id), \(bind: call.tool), \(bind: try JSONCoding.encodeString(call.arguments)),
                        'pending', \(bind: now))
                ON CONFLICT (run_id, step, call_id) DO NOTHING
                """).run()
        }
    }

    /// Decides every pending approval of the run; returns how many there were.
    func decide(runId: String, approved: Bool, by userId: String, comment: String?, now: Date, on db: any SQLDatabase) async throws -> Int {
        try await db.update("run_approvals").set("status", to: approved ? "approved" : "rejected").set("comment", to: comment)
            .set("decided_by", to: userId).set("decided_at", to: now)
            .where("run_id", .equal, runId).where("status", .equal, "pending").returning("call_id").all().count
    }
}
