import PersonaKit

/// The tool catalog as a dependency graph: every (name, version) with its `dependsOn`, each
/// dependency resolved to the highest registered version its range admits. A value type with
/// no I/O: registration builds one from the stored catalog plus the new manifests and refuses
/// what does not resolve.
package struct ToolGraph: Sendable {
    /// One tool version.
    package struct Node: Sendable, Hashable {
        package var id: String
        package var name: String
        package var version: SemanticVersion
        package var dependencies: [ToolDependency]

        package init(id: String, name: String, version: SemanticVersion, dependencies: [ToolDependency]) {
            self.id = id
            self.name = name
            self.version = version
            self.dependencies = dependencies
        }

        package var label: String { "\(name)@\(version)" }
    }

    /// Why a tool version cannot be registered.
    package enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// No version of the named tool is registered.
        case missing(tool: String, dependency: String)
        /// Versions exist, none in the range.
        case unsatisfiable(tool: String, dependency: ToolDependency, available: [SemanticVersion])
        /// The tools on the path depend on each other in a circle (first name repeated last).
        case cycle([String])
        /// A dependency of the tool has a problem of its own.
        case brokenDependency(tool: String, dependency: String)

        package var description: String {
            switch self {
            case .missing(let tool, let dependency):
                return "\(tool) depends on \(dependency), which is not registered"
            case .unsatisfiable(let tool, let dependency, let available):
                return "\(tool) depends on \(dependency), but no registered version satisfies \(dependency.range)"
                    + " (registered: \(available.sorted().map(\.description).joined(separator: ", ")))"
            case .cycle(let path):
                return "dependency cycle: \(path.joined(separator: " -> "))"
            case .brokenDependency(let tool, let dependency):
                return "\(tool) depends on \(dependency), which cannot be registered"
            }
        }
    }

    package private(set) var nodes: [String: Node] = [:]
    private var versionsByName: [String: [Node]] = [:]

    package init(nodes: some Sequence<Node>) {
        for node in nodes { insert(node) }
    }

    /// Adds a version, replacing one with the same name and version (it keeps the new id).
    package mutating func insert(_ node: Node) {
        if let existing = versionsByName[node.name]?.first(where: { $0.version == node.version }) {
            nodes[existing.id] = nil
            versionsByName[node.name]?.removeAll { $0.id == existing.id }
        }
        nodes[node.id] = node
        versionsByName[node.name, default: []].append(node)
    }

    /// Removes a version.
    package mutating func remove(id: String) {
        guard let node = nodes.removeValue(forKey: id) else { return }
        versionsByName[node.name]?.removeAll { $0.id == id }
        if versionsByName[node.name]?.isEmpty == true { versionsByName[node.name] = nil }
    }

    /// Every registered version of `name`, newest first.
    package func versions(of name: String) -> [Node] {
        (versionsByName[name] ?? []).sorted { $0.version > $1.version }
    }

    /// The newest version of `name`.
    package func latest(_ name: String) -> Node? { versions(of: name).first }

    /// What `dependency` resolves to: the newest registered version in its range.
    package func resolve(_ dependency: ToolDependency) -> Node? {
        versions(of: dependency.name).first { dependency.range.contains($0.version) }
    }

    /// The resolved edges of every node (`id -> ids it depends on`) and the problems of the
    /// nodes that do not resolve: a missing or unsatisfiable dependency, a cycle through the
    /// node, or a dependency that has a problem itself.
    package func resolution() -> (edges: [String: [String]], problems: [String: Problem]) {
        var edges: [String: [String]] = [:]
        var problems: [String: Problem] = [:]
        for node in nodes.values {
            var targets: [String] = []
            for dependency in node.dependencies {
                if let target = resolve(dependency) {
                    targets.append(target.id)
                } else if let available = versionsByName[dependency.name], !available.isEmpty {
                    problems[node.id] = .unsatisfiable(tool: node.label, dependency: dependency, available: available.map(\.version))
                } else {
                    problems[node.id] = .missing(tool: node.label, dependency: dependency.name)
                }
            }
            edges[node.id] = targets
        }
        // Cycles: an iterative depth-first search; a back edge closes a cycle through every
        // node on the stack from its target up.
        var state: [String: Int] = [:]  // 1 on the stack, 2 done
        for start in nodes.keys.sorted() where state[start] == nil {
            var stack: [(id: String, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = stack.last {
                let targets = edges[top.id] ?? []
                if top.next < targets.count {
                    stack[stack.count - 1].next += 1
                    let target = targets[top.next]
                    switch state[target] {
                    case nil:
                        state[target] = 1
                        stack.append((target, 0))
                    case 1:
                        let from = stack.firstIndex { $0.id == target } ?? 0
                        let members = stack[from...].map(\.id)
                        let path = (members + [target]).compactMap { nodes[$0]?.label }
                        for member in members where problems[member] == nil { problems[member] = .cycle(path) }
                    default:
                        break
                    }
                } else {
                    state[top.id] = 2
                    stack.removeLast()
                }
            }
        }
        // A node that depends on a broken one is broken too (until nothing changes).
        var changed = true
        while changed {
            changed = false
            for (id, targets) in edges where problems[id] == nil {
                if let broken = targets.first(where: { problems[$0] != nil }), let node = nodes[id], let target = nodes[broken] {
                    problems[id] = .brokenDependency(tool: node.label, dependency: target.label)
                    changed = true
                }
            }
        }
        return (edges, problems)
    }
}
