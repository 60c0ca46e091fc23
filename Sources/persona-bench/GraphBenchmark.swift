import ControlPlane
import Foundation
import PersonaKit
import SQLKit
import LLM
import StateGraph
import PersonaStorage
import Synchronization
import Runs

/// The orchestration benchmark `scripts/bench-graph` runs through `persona-bench
/// graph`: the run workflow's graph (`llm -> tools -> llm ... -> END`) with no-op nodes,
/// each LLM step appending one ~200-byte assistant message (with a tool call until the last),
/// each tool step one ~200-byte result, checkpointed exactly as real runs are (the step's delta
/// and timeline entry plus its `step_finished` event, one statement committed before the next
/// step starts).
enum GraphBenchmark {
    public struct Sequential: Codable, Sendable {
        public var llmSteps: Int
        public var supersteps: Int
        public var seconds: Double
        public var perSuperstepMs: Double
        /// Bytes stored for the run's steps: deltas, timeline entries and step events.
        public var checkpointBytes: Int
        /// Bytes of the last checkpoint.
        public var lastCheckpointBytes: Int
    }

    public struct Concurrent: Codable, Sendable {
        public var runs: Int
        public var llmSteps: Int
        public var seconds: Double
        public var runsPerSecond: Double
        public var failures: Int
    }

    static let padding = String(repeating: "x", count: 160)

    /// Runs the benchmark against `database` (migrated here) and returns its figures.
    public static func run(database: Database, llmSteps: [Int], concurrentRuns: Int, concurrentSteps: Int) async throws
        -> (sequential: [Sequential], concurrent: Concurrent) {
        try await database.migrate()
        let now = Date()
        let userId = Identifier.make()
        let personaId = Identifier.make()
        try await database.withConnection { db in
            try await db.insert(into: "users")
                .columns("id", "email", "name", "password_hash", "role", "is_active", "created_at", "updated_at")
                .values(SQLBind(userId), SQLBind("bench-\(userId)@bench.local"), SQLBind("bench"), SQLBind("-"), SQLBind("user"),
                        SQLBind(true), SQLBind(now), SQLBind(now)).run()
            try await db.insert(into: "personas")
                .columns("id", "owner_id", "name", "is_active", "created_at", "updated_at")
                .values(SQLBind(personaId), SQLBind(userId), SQLBind("bench"), SQLBind(true), SQLBind(now), SQLBind(now)).run()
        }
        var sequential: [Sequential] = []
        for steps in llmSteps {
            let started = ContinuousClock.now
            let runId = try await runOne(database: database, personaId: personaId, llmSteps: steps)
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            // Everything a step stores: its delta, its timeline entry and its `step_finished` event.
            let (checkpoints, events) = try await database.withConnection { db in
                (try await db.raw("SELECT LENGTH(delta) + LENGTH(meta) AS bytes FROM run_checkpoints WHERE run_id = \(bind: runId) ORDER BY step")
                    .all().map { try $0.decode(column: "bytes", as: Int.self) },
                 try await db.raw("SELECT LENGTH(data) AS bytes FROM run_events WHERE run_id = \(bind: runId) ORDER BY seq")
                    .all().map { try $0.decode(column: "bytes", as: Int.self) })
            }
            let sizes = zip(checkpoints, events).map { $0 + $1 }
            let supersteps = steps * 2 - 1
            sequential.append(Sequential(llmSteps: steps, supersteps: supersteps, seconds: seconds,
                                         perSuperstepMs: seconds * 1000 / Double(supersteps),
                                         checkpointBytes: checkpoints.reduce(0, +) + events.reduce(0, +), lastCheckpointBytes: sizes.last ?? 0))
        }
        let started = ContinuousClock.now
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<concurrentRuns {
                group.addTask { (try? await runOne(database: database, personaId: personaId, llmSteps: concurrentSteps)) != nil }
            }
            var failures = 0
            for await ok in group where !ok { failures += 1 }
            return failures
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (sequential, Concurrent(runs: concurrentRuns, llmSteps: concurrentSteps, seconds: seconds,
                                       runsPerSecond: concurrentRuns == 0 ? 0 : Double(concurrentRuns) / seconds, failures: failures))
    }

    /// One run of `llmSteps` LLM steps, checkpointed like a real run; returns its id.
    static func runOne(database: Database, personaId: String, llmSteps: Int) async throws -> String {
        let runs = RunRepository()
        let run = Run(id: Identifier.make(), personaId: personaId, agentId: nil, createdBy: nil, input: "benchmark",
                      trace: TraceContext.newRoot(), now: Date())
        try await database.withConnection { try await runs.insert(run, on: $0) }
        let llmCount = Counter()
        var graph = StateGraph<RunState>()
        graph.addNode("llm") { state, context in
            let n = llmCount.next()
            let text = "step \(n) " + padding
            if n < llmSteps {
                let call = Chat.ToolCall(id: "call-\(n)", name: "noop", arguments: #"{"n":\#(n)}"#)
                return RunState.Update(messages: [Chat.Message(role: "assistant", content: text, toolCalls: [call])], pendingToolCalls: [call],
                                       meta: ["kind": "llm", "spanId": .string(TraceContext.randomHex(bytes: 8))])
            }
            return RunState.Update(messages: [Chat.Message(role: "assistant", content: text)], pendingToolCalls: [], output: text,
                                   meta: ["kind": "llm", "spanId": .string(TraceContext.randomHex(bytes: 8))])
        }
        graph.addNode("tools") { state, context in
            let messages = state.pendingToolCalls.map { Chat.Message.tool(callId: $0.id, content: "result " + padding) }
            return RunState.Update(messages: messages, pendingToolCalls: [], meta: ["kind": "tools", "spanId": .string(TraceContext.randomHex(bytes: 8))])
        }
        graph.addEdge(from: GraphNode.start, to: "llm")
        graph.addConditionalEdges(from: "llm", targets: ["tools", GraphNode.end]) { $0.pendingToolCalls.isEmpty ? GraphNode.end : "tools" }
        graph.addEdge(from: "tools", to: "llm")
        let compiled = try graph.compile(recursionLimit: llmSteps * 2 + 1)
        let cursor = try compiled.start(RunState(messages: [.user("benchmark")]))
        _ = try await compiled.run(from: cursor) { step in
            var delta = step.update
            let meta = delta.meta ?? .null
            delta.meta = nil
            let encoded = try JSONCoding.encodeString(delta)
            try await database.withConnection { conn in
                try await runs.recordStep(runId: run.id, step: step.step, node: step.node, delta: encoded, meta: meta,
                                          spanId: meta["spanId"]?.stringValue ?? "", next: step.next, tokens: (0, 0), now: Date(),
                                          on: conn, kind: database.kind)
            }
        }
        try await database.withConnection { db in
            _ = try await db.update("runs").set("status", to: RunStatus.completed.rawValue).set("completed_at", to: Date())
                .where("id", .equal, run.id).run()
        }
        return run.id
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
    }
}
