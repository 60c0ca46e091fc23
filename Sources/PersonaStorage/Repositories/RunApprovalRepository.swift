import Foundation
import PersonaKit
import SQLKit

/// `run_approvals` access.
package struct RunApprovalRepository: Sendable {
    package func list(runId: String, on db: any SQLDatabase) async throws -> [RunApproval] {
        try await db.select().columns("step", "call_id", "tool", "arguments", "status", "comment", "decided_by", "created_at", "decided_at")
            .from("run_approvals").where("run_id", .equal, runId).orderBy("step").orderBy("call_id").all().map(RunApproval.init(row:))
    }

    /// Records pending approvals (a call already recorded keeps its row).
    package func request(runId: String, step: Int, calls: [(id: String, tool: String, arguments: JSONValue)], now: Date,
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
    package func decide(runId: String, approved: Bool, by userId: String, comment: String?, now: Date, on db: any SQLDatabase) async throws -> Int {
        try await db.update("run_approvals").set("status", to: approved ? "approved" : "rejected").set("comment", to: comment)
            .set("decided_by", to: userId).set("decided_at", to: now)
            .where("run_id", .equal, runId).where("status", .equal, "pending").returning("call_id").all().count
    }

    package init() {

    }
}
