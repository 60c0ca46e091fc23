import ControlPlane
import Testing
@testable import StateGraph

/// The seed's run workflow shape: llm -> (tool calls? tools -> llm : END).
struct AgentState: GraphState, Equatable {
    var messages: [String] = []
    var pendingToolCalls = 0
    var steps = 0

    struct Update: Codable, Sendable, Equatable {
        var messages: [String]? = nil
        var pendingToolCalls: Int? = nil
        var steps: Int? = nil
    }

    mutating func reduce(_ update: Update) {
        Reducers.append(&messages, update.messages)
        Reducers.replace(&pendingToolCalls, update.pendingToolCalls)
        Reducers.add(&steps, update.steps)
    }
}

@Suite("State graph")
struct StateGraphTests {
    func agentGraph(toolRounds: Int, recursionLimit: Int = 25) throws -> CompiledGraph<AgentState> {
        var graph = StateGraph<AgentState>()
        graph.addNode("llm") { state, _ in
            let toolRoundsSoFar = state.messages.filter { $0.hasPrefix("tool") }.count
            let wantsTools = toolRoundsSoFar < toolRounds
            return .init(messages: [wantsTools ? "assistant: call tool" : "assistant: done"],
                         pendingToolCalls: wantsTools ? 1 : 0, steps: 1)
        }
        graph.addNode("tools") { _, context in
            .init(messages: ["tool result \(context.step)"], pendingToolCalls: 0, steps: 1)
        }
        graph.addEdge(from: GraphNode.start, to: "llm")
        graph.addConditionalEdges(from: "llm", targets: ["tools", GraphNode.end]) { $0.pendingToolCalls > 0 ? "tools" : GraphNode.end }
        graph.addEdge(from: "tools", to: "llm")
        return try graph.compile(recursionLimit: recursionLimit)
    }

    @Test("the agent loop alternates llm and tools until no tool calls remain, checkpointing every step")
    func agentLoop() async throws {
        let graph = try agentGraph(toolRounds: 2)
        var steps: [(Int, String, String)] = []
        let final = try await graph.run(from: try graph.start(AgentState())) { step in
            steps.append((step.step, step.node, step.next))
        }
        #expect(final.isFinished)
        #expect(steps.map(\.1) == ["llm", "tools", "llm", "tools", "llm"])
        #expect(steps.map(\.0) == [1, 2, 3, 4, 5])
        #expect(steps.last?.2 == GraphNode.end)
        #expect(final.state.steps == 5)
        #expect(final.state.messages.last == "assistant: done")
    }

    @Test("a run resumed from a checkpoint rebuilt from deltas ends in the same state")
    func resumeFromDeltas() async throws {
        let graph = try agentGraph(toolRounds: 3)
        let full = try await graph.run(from: try graph.start(AgentState())) { _ in }
        // Stop after three steps, keeping only the deltas, as the database would.
        var deltas: [AgentState.Update] = []
        var next = ""
        struct Stop: Error {}
        do {
            _ = try await graph.run(from: try graph.start(AgentState())) { step in
                deltas.append(step.update)
                next = step.next
                if step.step == 3 { throw Stop() }
            }
        } catch is Stop {}
        var rebuilt = AgentState()
        for delta in deltas { rebuilt.reduce(delta) }
        let resumed = try await graph.run(from: GraphCursor(state: rebuilt, step: deltas.count, next: next)) { _ in }
        #expect(resumed.state == full.state)
        #expect(resumed.step == full.step)
    }

    @Test("the recursion limit stops a graph that never reaches END")
    func recursionLimit() async throws {
        let graph = try agentGraph(toolRounds: 100, recursionLimit: 6)
        await #expect(throws: GraphError(.recursionLimit, "run stopped after 6 steps without reaching END")) {
            _ = try await graph.run(from: try graph.start(AgentState())) { _ in }
        }
    }

    @Test("invalid graphs are refused at compile time with every problem named")
    func validation() throws {
        var graph = StateGraph<AgentState>()
        graph.addNode("a") { _, _ in .init() }
        graph.addNode("b") { _, _ in .init() }
        graph.addNode("orphan") { _, _ in .init() }
        graph.addNode("loop") { _, _ in .init() }
        graph.addEdge(from: GraphNode.start, to: "a")
        graph.addEdge(from: "a", to: "missing")
        graph.addEdge(from: "orphan", to: GraphNode.end)
        graph.addEdge(from: "loop", to: "loop")
        graph.addNode(GraphNode.end) { _, _ in .init() }
        do {
            _ = try graph.compile()
            Issue.record("compile should have failed")
        } catch let error as GraphError {
            #expect(error.code == .invalidGraph)
            for fragment in ["unknown node 'missing'", "node 'b' has no outgoing edge", "'orphan' is unreachable",
                             "reserved node name", "END is unreachable from node 'a'"] {
                #expect(error.message.contains(fragment), "\(fragment) in \(error.message)")
            }
        }
    }

    @Test("a conditional edge choosing an undeclared target fails the run")
    func undeclaredRoute() async throws {
        var graph = StateGraph<AgentState>()
        graph.addNode("a") { _, _ in .init() }
        graph.addEdge(from: GraphNode.start, to: "a")
        graph.addConditionalEdges(from: "a", targets: [GraphNode.end]) { _ in "elsewhere" }
        let compiled = try graph.compile()
        await #expect(throws: GraphError.self) {
            _ = try await compiled.run(from: try compiled.start(AgentState())) { _ in }
        }
    }

    @Test("cancellation stops the run between steps")
    func cancellation() async throws {
        let graph = try agentGraph(toolRounds: 1000, recursionLimit: 100_000)
        let task = Task {
            try await graph.run(from: try graph.start(AgentState())) { _ in try await Task.sleep(for: .milliseconds(1)) }
        }
        try await Task.sleep(for: .milliseconds(30))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
}
