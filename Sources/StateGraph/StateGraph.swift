import PersonaCore

/// State that a graph's nodes update through reducers: each node returns an `Update` (the
/// delta), and ``reduce(_:)`` folds it in channel by channel (append, replace, merge...).
/// Because only updates are checkpointed, storage grows with the change, not the history.
public protocol GraphState: Codable, Sendable {
    associatedtype Update: Codable & Sendable
    mutating func reduce(_ update: Update)
}

/// Reserved node names.
public enum GraphNode {
    public static let start = "__start__"
    public static let end = "__end__"
}

/// A graph definition or execution problem.
public struct GraphError: Error, Equatable, CustomStringConvertible {
    /// Stable snake_case codes (PersonaCore's ``ErrorCode`` convention).
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let invalidGraph: Code = "invalid_graph"
        public static let recursionLimit: Code = "recursion_limit"
        public static let unknownRoute: Code = "unknown_route"
    }

    public var code: Code
    public var message: String
    public var description: String { "GraphError(\(code.rawValue)): \(message)" }

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// What a node sees besides the state: its step number and name (for ids, spans and
/// idempotency keys).
public struct StepContext: Sendable {
    public var step: Int
    public var node: String
}

/// A graph of nodes, direct edges and conditional edges, like LangGraph's `StateGraph`:
/// build it, then ``compile(recursionLimit:)`` validates it into a runnable graph.
public struct StateGraph<State: GraphState>: Sendable {
    public typealias Action = @Sendable (State, StepContext) async throws -> State.Update
    public typealias Router = @Sendable (State) -> String

    enum Edge: Sendable {
        case direct(String)
        case conditional(targets: Set<String>, route: Router)

        var targets: Set<String> {
            switch self {
            case .direct(let target): [target]
            case .conditional(let targets, _): targets
            }
        }
    }

    var nodes: [String: Action] = [:]
    var edges: [String: Edge] = [:]
    var problems: [String] = []

    public init() {}

    /// Adds a node; names must be unique and not reserved.
    public mutating func addNode(_ name: String, _ action: @escaping Action) {
        if name == GraphNode.start || name == GraphNode.end || name.isEmpty {
            problems.append("'\(name)' is a reserved node name")
        } else if nodes[name] != nil {
            problems.append("node '\(name)' is defined twice")
        }
        nodes[name] = action
    }

    /// After `from`, always go to `to` (a node or ``GraphNode/end``).
    public mutating func addEdge(from: String, to: String) {
        if edges[from] != nil { problems.append("node '\(from)' has more than one outgoing edge") }
        edges[from] = .direct(to)
    }

    /// After `from`, go where `route` says; it must name one of `targets`.
    public mutating func addConditionalEdges(from: String, targets: Set<String>, _ route: @escaping Router) {
        if edges[from] != nil { problems.append("node '\(from)' has more than one outgoing edge") }
        edges[from] = .conditional(targets: targets, route: route)
    }

    /// Validates the graph: known nodes only, one way out of every node, every node reachable
    /// from START, END reachable from every node.
    /// - Throws: ``GraphError`` with code `invalidGraph` listing every problem found.
    public func compile(recursionLimit: Int = 25) throws -> CompiledGraph<State> {
        var problems = self.problems
        if edges[GraphNode.start] == nil { problems.append("START has no outgoing edge") }
        for (from, edge) in edges.sorted(by: { $0.key < $1.key }) {
            if from != GraphNode.start, nodes[from] == nil { problems.append("edge from unknown node '\(from)'") }
            for target in edge.targets.sorted() where target != GraphNode.end && nodes[target] == nil {
                problems.append("edge from '\(from)' to unknown node '\(target)'")
            }
        }
        for name in nodes.keys.sorted() where edges[name] == nil {
            problems.append("node '\(name)' has no outgoing edge")
        }
        let reachable = closure(from: [GraphNode.start]) { edges[$0]?.targets ?? [] }
        for name in nodes.keys.sorted() where !reachable.contains(name) {
            problems.append("node '\(name)' is unreachable from START")
        }
        for name in nodes.keys.sorted() where reachable.contains(name) {
            if !closure(from: [name], next: { edges[$0]?.targets ?? [] }).contains(GraphNode.end) {
                problems.append("END is unreachable from node '\(name)'")
            }
        }
        guard recursionLimit > 0 else { throw GraphError(.invalidGraph, "recursionLimit must be positive") }
        guard problems.isEmpty else { throw GraphError(.invalidGraph, problems.joined(separator: "; ")) }
        return CompiledGraph(nodes: nodes, edges: edges, recursionLimit: recursionLimit)
    }

    private func closure(from start: Set<String>, next: (String) -> Set<String>) -> Set<String> {
        var seen = start
        var queue = Array(start)
        while let node = queue.popLast() {
            for target in next(node) where seen.insert(target).inserted { queue.append(target) }
        }
        return seen
    }
}
