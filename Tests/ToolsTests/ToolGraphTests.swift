import PersonaKit
import Testing
@testable import Tools

@Suite("Tool dependency graph")
struct ToolGraphTests {
    static func node(_ label: String, _ dependencies: String...) -> ToolGraph.Node {
        let parts = label.split(separator: "@").map(String.init)
        return ToolGraph.Node(id: label, name: parts[0], version: SemanticVersion(parts[1])!,
                              dependencies: dependencies.map { ToolDependency($0)! })
    }

    @Test("each dependency resolves to the newest version its range admits")
    func newestInRange() {
        let graph = ToolGraph(nodes: [Self.node("app@1.0.0", "lib@^1.0.0"), Self.node("lib@1.0.0"), Self.node("lib@1.4.0"),
                                      Self.node("lib@2.0.0")])
        let (edges, problems) = graph.resolution()
        #expect(problems.isEmpty)
        #expect(edges["app@1.0.0"] == ["lib@1.4.0"])
        #expect(graph.latest("lib")?.id == "lib@2.0.0")
    }

    @Test("missing and unsatisfiable dependencies are named, and so is every tool that needs them")
    func missing() {
        let graph = ToolGraph(nodes: [Self.node("a@1.0.0", "b"), Self.node("c@1.0.0", "d@^2.0.0"), Self.node("d@1.0.0"),
                                      Self.node("top@1.0.0", "a")])
        let problems = graph.resolution().problems
        #expect(problems["a@1.0.0"] == .missing(tool: "a@1.0.0", dependency: "b"))
        #expect(problems["a@1.0.0"]?.description == "a@1.0.0 depends on b, which is not registered")
        #expect(problems["c@1.0.0"]?.description == "c@1.0.0 depends on d@^2.0.0, but no registered version satisfies ^2.0.0 (registered: 1.0.0)")
        #expect(problems["top@1.0.0"] == .brokenDependency(tool: "top@1.0.0", dependency: "a@1.0.0"))
        #expect(problems["d@1.0.0"] == nil)
    }

    @Test("a cycle is found and named from any of its members; tools outside it that need it are broken too")
    func cycles() {
        let graph = ToolGraph(nodes: [Self.node("a@1.0.0", "b"), Self.node("b@1.0.0", "c"), Self.node("c@1.0.0", "a"),
                                      Self.node("user@1.0.0", "a"), Self.node("free@1.0.0")])
        let problems = graph.resolution().problems
        guard case .cycle(let path)? = problems["a@1.0.0"] else {
            Issue.record("expected a cycle, got \(String(describing: problems["a@1.0.0"]))")
            return
        }
        #expect(path == ["a@1.0.0", "b@1.0.0", "c@1.0.0", "a@1.0.0"])
        #expect(problems["b@1.0.0"] != nil && problems["c@1.0.0"] != nil)
        #expect(problems["user@1.0.0"] == .brokenDependency(tool: "user@1.0.0", dependency: "a@1.0.0"))
        #expect(problems["free@1.0.0"] == nil)
        #expect(ToolGraph(nodes: [Self.node("self@1.0.0", "self")]).resolution().problems["self@1.0.0"] == .cycle(["self@1.0.0", "self@1.0.0"]))
    }

    @Test("inserting a version with the same name and version replaces it; removing one re-resolves")
    func replaceAndRemove() {
        var graph = ToolGraph(nodes: [Self.node("app@1.0.0", "lib"), Self.node("lib@1.0.0"), Self.node("lib@1.1.0")])
        #expect(graph.resolution().edges["app@1.0.0"] == ["lib@1.1.0"])
        graph.remove(id: "lib@1.1.0")
        #expect(graph.resolution().edges["app@1.0.0"] == ["lib@1.0.0"])
        graph.insert(ToolGraph.Node(id: "other-id", name: "lib", version: SemanticVersion(1, 0, 0), dependencies: []))
        #expect(graph.versions(of: "lib").map(\.id) == ["other-id"])
        #expect(graph.resolution().edges["app@1.0.0"] == ["other-id"])
    }
}
