/// Where a run stands between steps: the state so far, how many steps ran, which node is next.
public struct GraphCursor<State: GraphState>: Sendable {
    public var state: State
    public var step: Int
    public var next: String

    public init(state: State, step: Int, next: String) {
        self.state = state
        self.step = step
        self.next = next
    }

    public var isFinished: Bool { next == GraphNode.end }
}

/// One executed step, handed to the checkpointer before the next step starts.
public struct GraphStep<State: GraphState>: Sendable {
    public var step: Int
    public var node: String
    public var update: State.Update
    public var next: String
    public var state: State
}

/// A validated graph, ready to run. Runs are resumable: give ``run(from:checkpoint:)`` the
/// cursor rebuilt from the last checkpoint and it continues with the next node.
public struct CompiledGraph<State: GraphState>: Sendable {
    let nodes: [String: StateGraph<State>.Action]
    let edges: [String: StateGraph<State>.Edge]
    public let recursionLimit: Int

    /// The cursor of a new run: step 0, about to enter the node START leads to.
    public func start(_ initial: State) throws -> GraphCursor<State> {
        GraphCursor(state: initial, step: 0, next: try route(from: GraphNode.start, state: initial))
    }

    /// Runs nodes until END. After every node its update is folded into the state and
    /// `checkpoint` is awaited (so a durable checkpointer commits before the next node runs).
    /// Cancellation is checked between steps.
    /// - Throws: ``GraphError`` (`recursionLimit`, `unknownRoute`), `CancellationError`, or
    ///   whatever a node or the checkpointer throws.
    public func run(from cursor: GraphCursor<State>,
                    checkpoint: (GraphStep<State>) async throws -> Void) async throws -> GraphCursor<State> {
        var cursor = cursor
        while !cursor.isFinished {
            try Task.checkCancellation()
            guard cursor.step < recursionLimit else {
                throw GraphError(.recursionLimit, "run stopped after \(recursionLimit) steps without reaching END")
            }
            guard let action = nodes[cursor.next] else {
                throw GraphError(.unknownRoute, "no node named '\(cursor.next)'")
            }
            let node = cursor.next
            let update = try await action(cursor.state, StepContext(step: cursor.step + 1, node: node))
            cursor.state.reduce(update)
            cursor.step += 1
            cursor.next = try route(from: node, state: cursor.state)
            try await checkpoint(GraphStep(step: cursor.step, node: node, update: update, next: cursor.next, state: cursor.state))
        }
        return cursor
    }

    func route(from node: String, state: State) throws -> String {
        switch edges[node] {
        case .direct(let target):
            return target
        case .conditional(let targets, let route):
            let target = route(state)
            guard targets.contains(target) else {
                throw GraphError(.unknownRoute, "conditional edge from '\(node)' chose '\(target)', not one of \(targets.sorted())")
            }
            return target
        case nil:
            throw GraphError(.unknownRoute, "node '\(node)' has no outgoing edge")
        }
    }
}
