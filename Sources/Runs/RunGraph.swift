import Foundation
import PersonaKit
import Prometheus
import LLM
import StateGraph
import PersonaStorage
import Tools

/// Builds the run workflow `llm -> (tool calls? tools -> llm : END)` for one run.
package struct RunGraph: Sendable {
    package let run: Run
    package let agent: Agent
    package let persona: Persona
    package let llm: LLMClient
    package let tools: any ToolInvoker
    package let events: RunEventSink
    /// The persona's tools as its supervisor reported them (descriptions, input schemas).
    package var catalog: [PersonaToolDTO] = []
    /// Where approvals of tool calls are asked for and read.
    package var approvals: ApprovalGate?
    /// LLM calls and tokens per persona go here (`/metrics`), for health monitoring.
    package var metrics: PrometheusCollectorRegistry?
    /// Ranks the agent's tools for a step when its `toolSelection` mode is `search`.
    package var toolSearch: ToolSearch?

    package func compile() throws -> CompiledGraph<RunState> {
        var graph = StateGraph<RunState>()
        graph.addNode("llm") { state, context in try await callModel(state, context) }
        graph.addNode("tools") { state, context in try await callTools(state, context) }
        graph.addEdge(from: GraphNode.start, to: "llm")
        graph.addConditionalEdges(from: "llm", targets: ["tools", GraphNode.end]) { $0.pendingToolCalls.isEmpty ? GraphNode.end : "tools" }
        graph.addEdge(from: "tools", to: "llm")
        return try graph.compile(recursionLimit: agent.maxSteps)
    }

    package var initialState: RunState {
        var messages: [Chat.Message] = []
        if let prompt = agent.systemPrompt ?? persona.systemPrompt { messages.append(.system(prompt)) }
        messages.append(.user(run.input))
        return RunState(messages: messages)
    }

    package var trace: TraceContext { TraceContext(traceId: run.traceId, spanId: run.spanId, parentSpanId: nil, flags: 1, traceState: nil) }

    /// The names of the tools the agent may call: its list, or (search mode with an empty list)
    /// every tool the persona has switched on.
    package var allowedToolNames: [String] {
        agent.tools.isEmpty && agent.toolSelection.mode == .search ? catalog.filter(\.enabled).map(\.name) : agent.tools
    }

    /// The tools the model may be offered: the allowed ones, as the catalog describes them,
    /// minus the ones switched off for the persona.
    package var toolSpecs: [Chat.Tool] {
        let known = Dictionary(catalog.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return allowedToolNames.compactMap { name in
            guard let tool = known[name] else {
                return catalog.isEmpty ? Chat.Tool(name: name, description: "Persona tool \(name)", parameters: ["type": "object"]) : nil
            }
            guard tool.enabled else { return nil }
            return Chat.Tool(name: name, description: tool.description, parameters: tool.inputSchema)
        }
    }

    /// What one step offers: every tool, or (search mode, when there are more than the limit)
    /// the best-ranked for the conversation so far, what those depend on and every tool the run
    /// has already called; with how they were chosen, for the step's record.
    package func offeredTools(_ state: RunState) async -> (tools: [Chat.Tool], selection: JSONValue) {
        let all = toolSpecs
        let selection = agent.toolSelection
        guard selection.mode == .search, all.count > selection.limit, let toolSearch else {
            return (all, ["mode": .string(selection.mode.rawValue), "offered": .number(Double(all.count))])
        }
        let allowed = Set(all.map(\.function.name))
        do {
            let ranked = try await toolSearch.rank(Self.searchQuery(state.messages), limit: selection.limit, among: allowed)
            var chosen = Set(ranked.map(\.name))
            for dependency in try await toolSearch.dependencyNames(of: ranked.map(\.id)) where allowed.contains(dependency) {
                chosen.insert(dependency)
            }
            for message in state.messages { for call in message.toolCalls ?? [] where allowed.contains(call.function.name) { chosen.insert(call.function.name) } }
            let tools = all.filter { chosen.contains($0.function.name) }
            return (tools, ["mode": "search", "ranked": .array(ranked.map { .string($0.name) }),
                            "tools": .array(tools.map { .string($0.function.name) })])
        } catch {
            // A search that fails must not fail the run: offer everything, and say so.
            return (all, ["mode": "all", "searchFailed": .string("\(error)"), "offered": .number(Double(all.count))])
        }
    }

    /// What a step's tool search looks for: the run's input and the latest user and assistant
    /// words (recent ones weigh most: they come last and the text is cut from the front).
    static func searchQuery(_ messages: [Chat.Message]) -> String {
        let texts = messages.filter { $0.role == "user" || $0.role == "assistant" }.compactMap(\.content).filter { !$0.isEmpty }
        let first = texts.first ?? ""
        let recent = texts.dropFirst().suffix(3).joined(separator: "\n")
        let text = recent.isEmpty ? first : first.prefix(500) + "\n" + recent
        return String(text.suffix(2000))
    }

    package static var llmCalls: MetricNameDescriptor { MetricNameDescriptor(namespace: "persona", metricName: "llm_calls", unitName: "total",
                                               helpText: "LLM calls made for a persona's runs, by model and outcome") }
    package static var llmTokens: MetricNameDescriptor { MetricNameDescriptor(namespace: "persona", metricName: "llm_tokens", unitName: "total",
                                                helpText: "LLM tokens used for a persona's runs, by kind") }

    private func countCall(outcome: String, model: String, usage: Chat.Usage?) {
        guard let metrics else { return }
        metrics.makeCounter(descriptor: Self.llmCalls, labels: [("persona_id", persona.id), ("model", model), ("outcome", outcome)]).increment()
        if let usage {
            metrics.makeCounter(descriptor: Self.llmTokens, labels: [("persona_id", persona.id), ("kind", "prompt")])
                .increment(by: Int64(usage.promptTokens))
            metrics.makeCounter(descriptor: Self.llmTokens, labels: [("persona_id", persona.id), ("kind", "completion")])
                .increment(by: Int64(usage.completionTokens))
        }
    }

    private func callModel(_ state: RunState, _ context: StepContext) async throws -> RunState.Update {
        let span = trace.child()
        try await events.emit("step_started", ["step": .number(Double(context.step)), "node": "llm", "spanId": .string(span.spanId)])
        let (toolSpecs, selection) = await offeredTools(state)
        let request = Chat.Request(model: agent.model, messages: state.messages, tools: toolSpecs, temperature: agent.temperature)
        let coalescer = TokenCoalescer(events: events, step: context.step)
        let result: LLMClient.Result
        do {
            result = try await llm.complete(request, trace: span) { try await coalescer.add($0) }
        } catch {
            if !(error is CancellationError) { countCall(outcome: "error", model: agent.model, usage: nil) }
            throw error
        }
        countCall(outcome: "ok", model: result.model ?? agent.model, usage: result.usage)
        try await coalescer.flush()
        let calls = result.message.toolCalls ?? []
        let meta: JSONValue = [
            "kind": "llm", "model": .string(result.model ?? agent.model), "spanId": .string(span.spanId),
            "promptTokens": .number(Double(result.usage?.promptTokens ?? 0)),
            "completionTokens": .number(Double(result.usage?.completionTokens ?? 0)),
            "latencyMs": .number(Double(result.latency.components.seconds * 1000 + result.latency.components.attoseconds / 1_000_000_000_000_000)),
            "attempts": .number(Double(result.attempts)), "finishReason": result.finishReason.map { .string($0) } ?? .null,
            "toolCalls": .array(calls.map { ["id": .string($0.id), "name": .string($0.function.name)] }),
            "toolSelection": selection,
        ]
        return RunState.Update(messages: [result.message], pendingToolCalls: calls,
                               output: calls.isEmpty ? (result.message.content ?? "") : nil, meta: meta)
    }

    private func callTools(_ state: RunState, _ context: StepContext) async throws -> RunState.Update {
        let span = trace.child()
        try await events.emit("step_started", ["step": .number(Double(context.step)), "node": "tools", "spanId": .string(span.spanId)])
        var messages: [Chat.Message] = []
        var records: [JSONValue] = []
        // Calls of tools that need a person's approval: ask before anything of this step runs.
        var decisions: [String: RunApproval] = [:]
        let allowed = Set(allowedToolNames)
        let gated = state.pendingToolCalls.filter { call in
            allowed.contains(call.function.name) && catalog.contains { $0.name == call.function.name && $0.requiresApproval }
        }
        if !gated.isEmpty, let approvals {
            decisions = try await approvals.decisions(context.step)
            let undecided = gated.filter { decisions[$0.id] == nil || decisions[$0.id]?.status == .pending }
            if !undecided.isEmpty {
                try await approvals.request(context.step, undecided.map {
                    (id: $0.id, tool: $0.function.name, arguments: (try? JSONCoding.decode(JSONValue.self, from: $0.function.arguments)) ?? .string($0.function.arguments))
                })
                try await events.emit("approval_required", ["step": .number(Double(context.step)),
                                                            "calls": .array(undecided.map { ["id": .string($0.id), "name": .string($0.function.name)] })])
                throw AwaitingApproval(calls: undecided.map(\.id))
            }
        }
        for call in state.pendingToolCalls {
            let started = ContinuousClock.now
            let result: ToolCallResult
            if let decision = decisions[call.id], decision.status == .rejected {
                var output: [String: JSONValue] = ["error": "a person rejected this tool call; it did not run"]
                if let comment = decision.comment { output["comment"] = .string(comment) }
                result = ToolCallResult(status: "rejected", output: .object(output), durationMs: 0)
            } else if !allowed.contains(call.function.name) {
                result = ToolCallResult(status: "error", output: ["error": .string("tool '\(call.function.name)' is not allowed for this agent")], durationMs: 0)
            } else if let arguments = try? JSONCoding.decode(JSONValue.self, from: call.function.arguments), case .object = arguments {
                result = try await tools.invoke(personaId: run.personaId, runId: run.id, tool: call.function.name, arguments: arguments,
                                                idempotencyKey: "\(run.id):\(context.step):\(call.id)", trace: span)
            } else {
                // The model wrote arguments that are not a JSON object: tell it, so it can correct itself.
                result = ToolCallResult(status: "error", output: ["error": "arguments are not a valid JSON object"], durationMs: 0)
            }
            let elapsed = ContinuousClock.now - started
            let text = (try? JSONCoding.encodeString(result.output)) ?? "{}"
            messages.append(.tool(callId: call.id, content: text))
            records.append(["id": .string(call.id), "name": .string(call.function.name), "arguments": .string(call.function.arguments),
                            "status": .string(result.status), "result": result.output,
                            "durationMs": .number(Double(max(result.durationMs, Int(elapsed.components.seconds * 1000))))])
            try await events.emit("tool_output", ["step": .number(Double(context.step)), "callId": .string(call.id),
                                                  "name": .string(call.function.name), "status": .string(result.status)])
        }
        return RunState.Update(messages: messages, pendingToolCalls: [], meta: ["kind": "tools", "spanId": .string(span.spanId), "calls": .array(records)])
    }
}

/// Batches streamed tokens into events of at least ~64 characters or 100 ms, so a fast
/// model does not write one row per token.
package actor TokenCoalescer {
    package let events: RunEventSink
    package let step: Int
    package var buffer = ""
    package var last = ContinuousClock.now

    package init(events: RunEventSink, step: Int) {
        self.events = events
        self.step = step
    }

    package func add(_ text: String) async throws {
        buffer += text
        if buffer.count >= 64 || ContinuousClock.now - last > .milliseconds(100) { try await flush() }
    }

    package func flush() async throws {
        guard !buffer.isEmpty else { return }
        let text = buffer
        buffer = ""
        last = ContinuousClock.now
        try await events.emit("token", ["step": .number(Double(step)), "text": .string(text)])
    }
}

/// Appends a run's events to the database (the SSE log).
package struct RunEventSink: Sendable {
    package let runId: String
    package let database: Database
    package let runs: RunRepository

    package func emit(_ type: String, _ data: JSONValue) async throws {
        try await database.withConnection { try await runs.appendEvent(runId: runId, type: type, data: data, now: Date(), on: $0) }
        database.eventsWritten.signal()
    }
}

/// Reads and records approvals of one run's tool calls.
package struct ApprovalGate: Sendable {
    package let runId: String
    package let database: Database
    package let repository: RunApprovalRepository

    package func decisions(_ step: Int) async throws -> [String: RunApproval] {
        let all = try await database.withConnection { try await repository.list(runId: runId, on: $0) }
        return Dictionary(all.filter { $0.step == step }.map { ($0.callId, $0) }, uniquingKeysWith: { first, _ in first })
    }

    package func request(_ step: Int, _ calls: [(id: String, tool: String, arguments: JSONValue)]) async throws {
        try await database.withConnection { try await repository.request(runId: runId, step: step, calls: calls, now: Date(), on: $0) }
    }
}
