import Foundation
import PersonaKit
import SQLKit

/// A tool call waiting for (or given) a person's decision (`run_approvals`).
package struct RunApproval: Codable, Sendable, Equatable {
    package enum Status: String, Codable, Sendable { case pending, approved, rejected }

    package var step: Int
    package var callId: String
    package var tool: String
    package var arguments: JSONValue
    package var status: Status
    package var comment: String?
    package var decidedBy: String?
    package var createdAt: Date
    package var decidedAt: Date?

    package init(row: any SQLRow) throws {
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
package struct AwaitingApproval: Error, Sendable {
    package var calls: [String]

    package init(calls: [String]) {
        self.calls = calls
    }
}

