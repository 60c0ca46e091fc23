import Foundation
import PersonaKit
import Prometheus
import LLM
import StateGraph
import Containers
import PersonaStorage
import Tools

/// One run's execution: load agent and persona, rebuild the state from checkpoint deltas
/// (so a resumed run continues where it stopped), run the graph, checkpoint every step.
package struct RunExecution: Sendable {
    package let database: Database
    package let containers: ContainerManager
    package let metrics: PrometheusCollectorRegistry
    package let personas = PersonaRepository()
    package let agents = AgentRepository()
    package let runs = RunRepository()
    package let approvals = RunApprovalRepository()
    package let llm: LLMClient
    package let tools: any ToolInvoker
    /// Ranks tools for agents whose `toolSelection` mode is `search`.
    package let toolSearch: ToolSearch?
    package let run: Run
    package let owner: String

    package struct Gone: Error, CustomStringConvertible { package var description: String }

    /// The persona's tool catalog, which gives the model each tool's description and input
    /// schema. A persona whose supervisor never registered has none yet: when the agent may use
    /// tools, its container is started on demand to learn it. If that fails the run goes on
    /// with bare tool names; the tool calls then report why they cannot run. A persona with a
    /// catalog is woken if idleness paused or stopped it.
    private func toolCatalog(agent: Agent, persona: Persona) async -> [PersonaToolDTO] {
        guard !agent.tools.isEmpty || agent.toolSelection.mode == .search else { return [] }
        func load() async -> [PersonaToolDTO] {
            (try? await database.withConnection { try await containers.tools.catalog(personaId: persona.id, on: $0) }) ?? []
        }
        let catalog = await load()
        guard tools is SupervisorToolInvoker else { return catalog }
        let trace = TraceContext(traceId: run.traceId, spanId: run.spanId, parentSpanId: nil, flags: 1, traceState: nil)
        guard catalog.isEmpty else {
            // A run uses its persona: a container idleness paused (or stopped) is woken now, so
            // the first tool call does not wait for it.
            _ = try? await containers.wake(persona.id, trace: trace)
            return catalog
        }
        _ = try? await containers.ensureReady(persona, timeout: .seconds(60), trace: trace)
        return await load()
    }

    package func execute() async throws -> String {
        let db = database
        let (agent, persona, deltas) = try await db.withConnection { conn -> (Agent?, Persona?, [String]) in
            (try await run.agentId.asyncMap { try await agents.find(id: $0, on: conn) } ?? nil,
             try await personas.find(id: run.personaId, on: conn),
             try await runs.deltas(runId: run.id, on: conn))
        }
        guard let agent, let persona else { throw Gone(description: "the run's agent or persona was deleted") }
        let events = RunEventSink(runId: run.id, database: db, runs: runs)
        let catalog = await toolCatalog(agent: agent, persona: persona)
        let graph = RunGraph(run: run, agent: agent, persona: persona, llm: llm, tools: tools, events: events, catalog: catalog,
                             approvals: ApprovalGate(runId: run.id, database: db, repository: approvals),
                             metrics: metrics, toolSearch: toolSearch)
        let compiled = try graph.compile()
        var cursor: GraphCursor<RunState>
        if let next = run.nextNode, !deltas.isEmpty {
            var state = graph.initialState
            for delta in deltas { state.reduce(try JSONCoding.decode(RunState.Update.self, from: delta)) }
            cursor = GraphCursor(state: state, step: deltas.count, next: next)
        } else {
            try await events.emit("status", ["status": "running"])
            cursor = try compiled.start(graph.initialState)
        }
        let finished = try await compiled.run(from: cursor) { step in
            var delta = step.update
            let meta = delta.meta ?? .null
            delta.meta = nil
            let encoded = try JSONCoding.encodeString(delta)
            let tokens = (meta["promptTokens"]?.intValue ?? 0, meta["completionTokens"]?.intValue ?? 0)
            try await db.withConnection { conn in
                try await runs.recordStep(runId: run.id, step: step.step, node: step.node, delta: encoded, meta: meta,
                                                   spanId: meta["spanId"]?.stringValue ?? "", next: step.next, tokens: tokens,
                                                   now: Date(), on: conn, kind: db.kind)
            }
            // A run step is activity: the idle sweep leaves the persona awake (throttled writes).
            await containers.noteActivity(run.personaId)
        }
        return finished.state.output ?? ""
    }
}

extension Optional {
    package func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
