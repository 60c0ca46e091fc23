import ControlPlane
import Foundation
import PersonaKit
import Testing
import TestSupport
@testable import LLM
import PersonaStorage

@Suite("Agents and runs")
struct RunsTests {
    /// A fresh app whose LLM gateway is a scripted server; yields the client, an admin token and an agent id.
    func withRunApp(_ backend: TestBackend, script: [ScriptedReply], tools: [String] = [],
                    _ body: @Sendable (APIClient, String, String, ScriptedLLM) async throws -> Void) async throws {
        let llm = ScriptedLLM(script)
        try await llm.serve { url in
            try await TestApp.run(backend, configure: {
                $0.litellmProxyURL = url
                $0.llmTimeoutSeconds = 5
                $0.runWorker.pollInterval = .milliseconds(50)
                $0.runWorker.heartbeatInterval = .milliseconds(100)
            }) { api, _ in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Runner", "systemPrompt": "Be brief."]).data?["id"]?.stringValue)
                let agent = try await api.post("/api/personas/\(persona)/agents", token: admin, json: [
                    "name": "Helper", "model": "gpt-4o-mini", "maxSteps": 6, "tools": .array(tools.map { .string($0) }),
                ])
                #expect(agent.status == .created)
                try await body(api, admin, try #require(agent.data?["id"]?.stringValue), llm)
            }
        }
    }

    func waitForEnd(_ api: APIClient, _ token: String, _ run: String) async throws -> APIResponse {
        for _ in 0..<200 {
            let response = try await api.get("/api/runs/\(run)", token: token)
            if let status = response.data?["status"]?.stringValue, ["completed", "failed", "cancelled"].contains(status) { return response }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("run \(run) did not end")
    }

    @Test("a run answers through the LLM, records its steps with tokens and trace, and streams its events", arguments: TestBackend.allCases)
    func completes(backend: TestBackend) async throws {
        try await withRunApp(backend, script: [.text("The answer is 42.", pieces: 3)]) { api, admin, agent, llm in
            let traceId = TraceContext.newRoot().traceId
            let created = try await api.request(.post, "/api/runs", token: admin, json: ["agentId": .string(agent), "input": "What is the answer?"],
                                                headers: [.init("traceparent")!: "00-\(traceId)-00f067aa0ba902b7-01"])
            #expect(created.status == .created)
            #expect(created.data?["status"] == "queued")
            #expect(created.data?["traceId"]?.stringValue == traceId)
            let id = try #require(created.data?["id"]?.stringValue)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "completed")
            #expect(done.data?["output"] == "The answer is 42.")
            #expect(done.data?["promptTokens"]?.intValue == 12)
            let step = try #require(done.data?["steps"]?[0])
            #expect(step["node"] == "llm")
            #expect(step["detail"]?["model"] == "scripted-model")
            #expect(step["detail"]?["completionTokens"]?.intValue == 7)
            let request = try #require(await llm.requests.first)
            #expect(request["messages"]?[0]?["content"] == "Be brief.")
            #expect(request["messages"]?[1]?["content"] == "What is the answer?")
            #expect(await llm.headers.first?["traceparent"]?.contains(traceId) == true)

            let events = try await api.get("/api/runs/\(id)/events", token: admin)
            #expect(events.headers[.contentType] == "text/event-stream")
            let types = events.body.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { $0.dropFirst(7) }
            #expect(types.first == "status" && types.last == "status")
            #expect(types.contains("token") && types.contains("step_finished"))
            #expect(events.body.contains("The answer"))
            // Resuming after the first event replays only what follows it.
            let ids = events.body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
            let resumed = try await api.request(.get, "/api/runs/\(id)/events", token: admin, headers: [.init("Last-Event-ID")!: String(ids[0])])
            let resumedIds = resumed.body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
            #expect(resumedIds == Array(ids.dropFirst()))
            let list = try await api.get("/api/runs?status=completed", token: admin)
            #expect(list.data?.arrayValue?.count == 1)
            // LLM calls and tokens per persona, for the health service.
            let persona = try #require(done.data?["personaId"]?.stringValue)
            let metrics = try await api.get("/metrics").body
            #expect(metrics.contains(#"persona_llm_calls_total{persona_id="\#(persona)",model="scripted-model",outcome="ok"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"persona_llm_tokens_total{persona_id="\#(persona)",kind="completion"} 7"#))
        }
    }

    @Test("a run fails cleanly when the LLM keeps failing", arguments: TestBackend.allCases)
    func llmFailure(backend: TestBackend) async throws {
        try await withRunApp(backend, script: [.status(500), .status(500), .status(500), .status(500), .status(500)]) { api, admin, agent, _ in
            let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "hi"]).data?["id"]?.stringValue)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "failed")
            #expect(done.data?["error"]?.stringValue?.contains("LLM call failed") == true)
        }
    }

    @Test("cancel during an LLM stream stops the run", arguments: [TestBackend.sqlite])
    func cancelDuringLLM(backend: TestBackend) async throws {
        try await withRunApp(backend, script: [.stall(.seconds(40), then: .init(.text("too late")))]) { api, admin, agent, _ in
            let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "slow"]).data?["id"]?.stringValue)
            for _ in 0..<100 {
                if try await api.get("/api/runs/\(id)", token: admin).data?["status"] == "running" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let started = ContinuousClock.now
            #expect(try await api.post("/api/runs/\(id)/cancel", token: admin).status == .accepted)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "cancelled")
            // The stream stalls for 40 s: ending well before proves the cancel cut it (the worker
            // checks every 0.5 s; the full parallel suite can stall the process for 15-20 s).
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(try await api.post("/api/runs/\(id)/cancel", token: admin).status == .conflict)
        }
    }

    @Test("malformed tool arguments go back to the model, which answers; the valid call ran in the container started on demand", arguments: [TestBackend.sqlite])
    func toolErrorsReachTheModel(backend: TestBackend) async throws {
        let calls = [Chat.ToolCall(id: "c1", name: "shell", arguments: "{not json"), Chat.ToolCall(id: "c2", name: "shell", arguments: #"{"command":"ls"}"#)]
        try await withRunApp(backend, script: [.toolCalls(calls), .text("I could not run tools.")], tools: ["shell"]) { api, admin, agent, llm in
            let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "list files"]).data?["id"]?.stringValue)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "completed")
            #expect(done.data?["output"] == "I could not run tools.")
            let toolStep = try #require(done.data?["steps"]?[1])
            #expect(toolStep["node"] == "tools")
            #expect(toolStep["detail"]?["calls"]?[0]?["status"] == "error")
            #expect(toolStep["detail"]?["calls"]?[0]?["result"]?["error"] == "arguments are not a valid JSON object")
            #expect(toolStep["detail"]?["calls"]?[1]?["status"] == "ok", "\(toolStep)")
            let second = try #require(await llm.requests.last)
            let toolMessages = second["messages"]?.arrayValue?.filter { $0["role"] == "tool" } ?? []
            #expect(toolMessages.count == 2)
            #expect(toolMessages.first?["tool_call_id"] == "c1")
        }
    }

    @Test("a run calls write_file and shell in the persona's real container and answers; the model is offered the catalog's schemas",
          arguments: TestBackend.allCases)
    func toolsInContainer(backend: TestBackend) async throws {
        let write = [Chat.ToolCall(id: "w1", name: "write_file", arguments: #"{"path":"notes/hello.txt","content":"hi from the run"}"#)]
        let shell = [Chat.ToolCall(id: "s1", name: "shell", arguments: #"{"command":"cat notes/hello.txt; echo; id -u"}"#)]
        try await withRunApp(backend, script: [.toolCalls(write), .toolCalls(shell), .text("Done.")], tools: ["shell", "write_file"]) { api, admin, agent, llm in
            let persona = try #require(try await api.get("/api/agents/\(agent)", token: admin).data?["personaId"]?.stringValue)
            let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "write a note"]).data?["id"]?.stringValue)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "completed", "\(done.body)")
            #expect(done.data?["output"] == "Done.")
            let toolSteps = done.data?["steps"]?.arrayValue?.filter { $0["node"] == "tools" } ?? []
            #expect(toolSteps.count == 2)
            #expect(toolSteps.allSatisfy { $0["detail"]?["calls"]?[0]?["status"] == "ok" }, "\(toolSteps)")
            // The model saw real descriptions and input schemas, not bare names.
            let offered = try #require(await llm.requests.first?["tools"]?.arrayValue)
            let shellSpec = try #require(offered.first { $0["function"]?["name"] == "shell" })
            #expect(shellSpec["function"]?["parameters"]?["required"]?.arrayValue?.contains("command") == true)
            #expect(shellSpec["function"]?["description"]?.stringValue?.hasPrefix("Persona tool") == false)
            // The tool results went back to the model.
            let last = try #require(await llm.requests.last)
            let results = last["messages"]?.arrayValue?.filter { $0["role"] == "tool" }.compactMap { $0["content"]?.stringValue } ?? []
            #expect(results.last?.contains("hi from the run") == true, "\(results)")
            #expect(results.last?.contains("1000") == true)
            // Each call is a tool run of this run, with the run's trace.
            let runs = try await api.get("/api/personas/\(persona)/tool-runs", token: admin).data?.arrayValue ?? []
            #expect(runs.count == 2)
            #expect(runs.allSatisfy { $0["runId"]?.stringValue == id && $0["status"] == "succeeded" })
            #expect(runs.allSatisfy { $0["traceId"] == done.data?["traceId"] })
            // Keyed by (run, step, call): a resumed run gets the journaled results.
            let keys = runs.compactMap { $0["idempotencyKey"]?.stringValue }
            #expect(keys.allSatisfy { $0.hasPrefix(id + ":") })
            #expect(Set(keys.compactMap { $0.split(separator: ":").last.map(String.init) }) == ["w1", "s1"])
        }
    }

    @Test("cancel during a long tool call stops the run and kills the tool's processes", arguments: [TestBackend.postgres])
    func cancelDuringTool(backend: TestBackend) async throws {
        let slow = [Chat.ToolCall(id: "t1", name: "shell", arguments: #"{"command":"echo started > started.txt; sleep 20; touch survived.txt"}"#)]
        try await withRunApp(backend, script: [.toolCalls(slow), .text("never")], tools: ["shell"]) { api, admin, agent, _ in
            let persona = try #require(try await api.get("/api/agents/\(agent)", token: admin).data?["personaId"]?.stringValue)
            let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "slow tool"]).data?["id"]?.stringValue)
            var toolRunning = false
            for _ in 0..<400 where !toolRunning {
                let runs = try await api.get("/api/personas/\(persona)/tool-runs", token: admin).data?.arrayValue ?? []
                toolRunning = runs.contains { $0["status"] == "running" }
                if !toolRunning { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(toolRunning)
            try await Task.sleep(for: .milliseconds(300))  // the shell is inside its sleep now
            let started = ContinuousClock.now
            #expect(try await api.post("/api/runs/\(id)/cancel", token: admin).status == .accepted)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "cancelled")
            #expect(ContinuousClock.now - started < .seconds(10))  // the tool would run 20 s
            // The supervisor's report marks the tool run cancelled...
            var toolStatus: JSONValue?
            for _ in 0..<100 {
                toolStatus = try await api.get("/api/personas/\(persona)/tool-runs", token: admin).data?[0]?["status"]
                if toolStatus != "running" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(toolStatus == "cancelled")
            // ...and the process group is gone: no `sleep` is left anywhere in the container.
            let check = try await api.post("/api/personas/\(persona)/tools/shell/invoke", token: admin, json: [
                "arguments": ["command": "ls; echo sleeping: $(grep -lx sleep /proc/[0-9]*/comm 2>/dev/null | wc -l)"],
            ])
            let stdout = check.data?["output"]?["stdout"]?.stringValue ?? ""
            #expect(stdout.contains("started.txt"), "\(check.body)")
            #expect(stdout.contains("sleeping: 0"), "\(check.body)")
        }
    }

    @Test("a tool that needs approval pauses the run; approving runs it, rejecting tells the model and runs nothing",
          arguments: TestBackend.allCases)
    func approvals(backend: TestBackend) async throws {
        let first = [Chat.ToolCall(id: "a1", name: "shell", arguments: #"{"command":"echo approved >> approved.txt"}"#)]
        let second = [Chat.ToolCall(id: "r1", name: "shell", arguments: #"{"command":"echo rejected >> rejected.txt"}"#)]
        let script: [ScriptedReply] = [.toolCalls(first), .text("Ran it."), .toolCalls(second), .text("Understood, I did not.")]
        try await withRunApp(backend, script: script, tools: ["shell"]) { api, admin, agent, llm in
            let persona = try #require(try await api.get("/api/agents/\(agent)", token: admin).data?["personaId"]?.stringValue)
            // The catalog exists once the container registered; then demand approval for shell.
            _ = try await api.post("/api/personas/\(persona)/container/start?wait=60", token: admin)
            let patched = try await api.patch("/api/personas/\(persona)/tools/shell", token: admin, json: ["requiresApproval": true])
            #expect(patched.data?["requiresApproval"] == true)
            #expect(try await api.patch("/api/personas/\(persona)/tools/shell", token: admin, json: [:]).status == .badRequest)

            func waitFor(_ run: String, _ status: String) async throws -> APIResponse {
                for _ in 0..<300 {
                    let response = try await api.get("/api/runs/\(run)", token: admin)
                    if response.data?["status"]?.stringValue == status { return response }
                    try await Task.sleep(for: .milliseconds(50))
                }
                throw TestSetupError("run \(run) never reached \(status)")
            }
            func file(_ name: String) async throws -> String {
                try await api.post("/api/personas/\(persona)/tools/read_file/invoke", token: admin,
                                   json: ["arguments": ["path": .string(name)]]).data?["output"]?["content"]?.stringValue ?? "<missing>"
            }

            // Approved.
            let one = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "go"]).data?["id"]?.stringValue)
            let waiting = try await waitFor(one, "awaiting_approval")
            #expect(waiting.data?["approvals"]?[0]?["callId"] == "a1")
            #expect(waiting.data?["approvals"]?[0]?["status"] == "pending")
            #expect(waiting.data?["approvals"]?[0]?["arguments"]?["command"] == "echo approved >> approved.txt")
            #expect(try await file("approved.txt") == "<missing>")
            let approved = try await api.post("/api/runs/\(one)/approve", token: admin, json: ["approved": true, "comment": "fine"])
            #expect(approved.status == .ok)
            let done = try await waitForEnd(api, admin, one)
            #expect(done.data?["status"] == "completed")
            #expect(done.data?["output"] == "Ran it.")
            #expect(done.data?["approvals"]?[0]?["status"] == "approved")
            #expect(try await file("approved.txt") == "approved\n")
            #expect(try await api.post("/api/runs/\(one)/approve", token: admin, json: ["approved": true]).code == "not_awaiting_approval")

            // Rejected: the model hears why; the command never runs.
            let two = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "again"]).data?["id"]?.stringValue)
            _ = try await waitFor(two, "awaiting_approval")
            #expect(try await api.post("/api/runs/\(two)/approve", token: admin, json: ["approved": false, "comment": "not today"]).status == .ok)
            let rejected = try await waitForEnd(api, admin, two)
            #expect(rejected.data?["status"] == "completed")
            #expect(rejected.data?["output"] == "Understood, I did not.")
            let told = await llm.requests.last?["messages"]?.arrayValue?.last { $0["role"] == "tool" }?["content"]?.stringValue ?? ""
            #expect(told.contains("rejected") && told.contains("not today"), "\(told)")
            #expect(try await file("rejected.txt") == "<missing>")
            let audit = try await api.get("/api/audit?type=run.rejected", token: admin)
            #expect(audit.data?.arrayValue?.count == 1)
        }
    }

    @Test("a model that keeps writing malformed tool calls is told each time and stopped by maxSteps", arguments: [TestBackend.sqlite])
    func malformedUntilMaxSteps(backend: TestBackend) async throws {
        let bad = ScriptedReply.toolCalls([Chat.ToolCall(id: "b", name: "shell", arguments: "{broken")])
        try await withRunApp(backend, script: Array(repeating: bad, count: 10), tools: ["shell"]) { api, admin, agent, llm in
            let id = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "go"]).data?["id"]?.stringValue)
            let done = try await waitForEnd(api, admin, id)
            #expect(done.data?["status"] == "failed")
            #expect(done.data?["error"] == "the agent reached its maxSteps limit without finishing")
            // maxSteps is 6: llm, tools, llm, tools, llm, tools; every tools step told the model why.
            let steps = done.data?["steps"]?.arrayValue ?? []
            #expect(steps.count == 6)
            #expect(steps.filter { $0["node"] == "tools" }.allSatisfy {
                $0["detail"]?["calls"]?[0]?["result"]?["error"] == "arguments are not a valid JSON object"
            })
            #expect(await llm.requests.count == 3)
        }
    }

    @Test("agents follow persona roles; runs of invisible agents are refused", arguments: [TestBackend.sqlite])
    func permissions(backend: TestBackend) async throws {
        try await withRunApp(backend, script: []) { api, admin, agent, _ in
            let viewer = try await api.makeUser("viewer-runs@example.com", adminToken: admin)
            let stranger = try await api.makeUser("stranger-runs@example.com", adminToken: admin)
            let persona = try #require(try await api.get("/api/agents/\(agent)", token: admin).data?["personaId"]?.stringValue)
            #expect(try await api.post("/api/personas/\(persona)/members", token: admin, json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            #expect(try await api.get("/api/agents/\(agent)", token: viewer.token).status == .ok)
            #expect(try await api.patch("/api/agents/\(agent)", token: viewer.token, json: ["name": "x"]).status == .forbidden)
            #expect(try await api.post("/api/runs", token: viewer.token, json: ["agentId": .string(agent), "input": "x"]).status == .forbidden)
            #expect(try await api.get("/api/agents/\(agent)", token: stranger.token).status == .notFound)
            #expect(try await api.post("/api/runs", token: stranger.token, json: ["agentId": .string(agent), "input": "x"]).status == .unprocessableContent)
            #expect(try await api.post("/api/runs", token: admin, json: ["agentId": .string(Identifier.make()), "input": "x"]).status == .unprocessableContent)
            #expect(try await api.post("/api/personas/\(persona)/agents", token: admin, json: ["name": "Bad", "model": "m", "maxSteps": 0]).status == .badRequest)
            #expect(try await api.post("/api/personas/\(persona)/agents", token: admin, json: ["name": "Bad", "model": "m", "tools": ["Not A Tool"]]).status == .badRequest)
            let patched = try await api.patch("/api/agents/\(agent)", token: admin, json: ["temperature": 0.2, "systemPrompt": nil])
            #expect(patched.data?["temperature"]?.doubleValue == 0.2)
            #expect(try await api.get("/api/runs", token: stranger.token).data?.arrayValue?.isEmpty == true)
            #expect(try await api.delete("/api/agents/\(agent)", token: admin).status == .noContent)
            #expect(try await api.get("/api/personas/\(persona)/agents", token: admin).data?.arrayValue?.isEmpty == true)
        }
    }
}
