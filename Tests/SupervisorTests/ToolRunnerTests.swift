import Foundation
import PersonaKit
import Synchronization
import Testing
@testable import Supervisor

@Suite("Tool runner: schema, idempotency journal, environment, timeouts")
struct ToolRunnerTests {
    let trace = TraceContext.newRoot()

    @Test("arguments are validated against the manifest's schema")
    func validation() async throws {
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        for bad: JSONValue in [[:], ["command": 42], ["command": "true", "extra": 1], ["command": ""]] {
            await #expect { _ = try await runner.invoke(tool: "shell", request: InvocationRequest(arguments: bad), trace: trace) }
                throws: { ($0 as? SupervisorError)?.code == "validation_failed" && ($0 as? SupervisorError)?.status == 400 }
        }
        await #expect { _ = try await runner.invoke(tool: "nope", request: InvocationRequest(), trace: trace) }
            throws: { ($0 as? SupervisorError)?.code == "unknown_tool" }
    }

    @Test("the same idempotency key returns the journaled result and never runs the tool twice")
    func idempotentReplay() async throws {
        let (runner, workspace, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let request = InvocationRequest(arguments: ["command": "echo run >> counter; wc -l < counter"], idempotencyKey: "k-1")
        let first = try await runner.invoke(tool: "shell", request: request, trace: trace)
        let second = try await runner.invoke(tool: "shell", request: request, trace: trace)
        #expect(first.status == .succeeded)
        #expect(!first.replayed)
        #expect(second.replayed)
        #expect(second.id == first.id)
        #expect(second.output == first.output)
        #expect(try String(contentsOfFile: workspace + "/counter", encoding: .utf8) == "run\n")
    }

    @Test("a concurrent duplicate waits for the first instead of running again")
    func concurrentDuplicate() async throws {
        let (runner, workspace, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let request = InvocationRequest(arguments: ["command": "echo run >> counter; sleep 0.3"], idempotencyKey: "k-2")
        async let a = runner.invoke(tool: "shell", request: request, trace: trace)
        async let b = runner.invoke(tool: "shell", request: request, trace: trace)
        let (ra, rb) = try await (a, b)
        #expect(ra.id == rb.id)
        #expect(ra.replayed != rb.replayed)
        #expect(try String(contentsOfFile: workspace + "/counter", encoding: .utf8) == "run\n")
    }

    @Test("a key reused with other arguments is a conflict")
    func keyConflict() async throws {
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        _ = try await runner.invoke(tool: "shell", request: InvocationRequest(arguments: ["command": "true"], idempotencyKey: "k-3"), trace: trace)
        await #expect { _ = try await runner.invoke(tool: "shell", request: InvocationRequest(arguments: ["command": "false"], idempotencyKey: "k-3"), trace: trace) }
            throws: { ($0 as? SupervisorError)?.code == "idempotency_conflict" && ($0 as? SupervisorError)?.status == 409 }
    }

    @Test("an invocation cut short by a stop is journaled as interrupted and not run again")
    func interruptedNotRerun() async throws {
        let (runner, workspace, db, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let journal = InvocationJournal(db: db)
        let args: JSONValue = ["command": "echo run >> counter"]
        try journal.begin(id: "crashed", tool: "shell", idempotencyKey: "k-4", argumentsDigest: argumentsDigest(args), traceId: trace.traceId)
        #expect(try journal.markInterrupted() == 1)
        let result = try await runner.invoke(tool: "shell", request: InvocationRequest(arguments: args, idempotencyKey: "k-4"), trace: trace)
        #expect(result.status == .interrupted)
        #expect(result.id == "crashed")
        #expect(result.replayed)
        #expect(!FileManager.default.fileExists(atPath: workspace + "/counter"))
    }

    @Test("an external tool gets its JSON on stdin, TRACEPARENT, TOOL_OUTPUT_DIR and only its declared secrets")
    func externalToolEnvironment() async throws {
        let manifest = """
            {"name": "probe", "description": "test", "category": "test", "command": ["run"], "secrets": ["API_KEY"],
             "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}
            """
        let script = """
            #!/bin/bash
            input=$(cat)
            echo artifact > "$TOOL_OUTPUT_DIR/report.txt"
            echo "to stderr" >&2
            printf '{"input": %s, "traceparent": "%s", "apiKey": "%s", "other": "%s", "home": "%s"}' "$input" "$TRACEPARENT" "$API_KEY" "$OTHER" "$HOME"
            """
        let events = Mutex<[InvocationEvent]>([])
        let (runner, workspace, _, cleanup) = try Fixtures.makeToolRunner(
            extraTools: ["probe": (manifest, script)], secrets: ["API_KEY": "k-secret", "OTHER": "not-for-probe"],
            events: { event in events.withLock { $0.append(event) } })
        defer { cleanup() }
        let result = try await runner.invoke(tool: "probe", request: InvocationRequest(arguments: ["n": 7]), trace: trace)
        #expect(result.status == .succeeded, "\(result)")
        #expect(result.output["input"]?["n"] == 7)
        #expect(result.output["apiKey"] == "k-secret")
        #expect(result.output["other"] == "")
        #expect(result.output["home"]?.stringValue == workspace)
        let traceparent = try #require(result.output["traceparent"]?.stringValue.flatMap { TraceContext(traceparent: $0) })
        #expect(traceparent.traceId == trace.traceId)
        #expect(result.stderrTail == "to stderr\n")
        #expect(result.artifacts.count == 1)
        #expect(result.artifacts.first?.path.hasSuffix("/report.txt") == true)
        #expect(result.artifacts.first?.size == 9)
        let kinds = events.withLock { $0.map(\.kind) }
        #expect(kinds == [.started, .finished])
    }

    @Test("a timeout ends the invocation as timed_out")
    func timeout() async throws {
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let result = try await runner.invoke(tool: "shell", request: InvocationRequest(arguments: ["command": "sleep 120"], timeoutMs: 300), trace: trace)
        #expect(result.status == .timedOut)
        #expect(result.errorCode == "timeout")
        // Killed, not run out: far below the 120 s sleep (the full parallel suite can stall this
        // process for 15-20 s, so a tighter bound would measure the scheduler, not the kill).
        #expect(result.durationMs < 60_000)
    }

    @Test("cancel by idempotency key kills a running invocation; one that arrives after its cancel is cancelled at once")
    func cancelByKey() async throws {
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let trace = TraceContext.newRoot()
        let started = ContinuousClock.now
        async let slow = runner.invoke(tool: "shell", request: InvocationRequest(arguments: ["command": "sleep 120"], idempotencyKey: "c-1"), trace: trace)
        var cancelled = false
        for _ in 0..<200 where !cancelled {
            cancelled = await runner.cancel(idempotencyKey: "c-1")
            if !cancelled { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(cancelled)
        #expect(try await slow.status == .cancelled)
        // Far before the 120 s sleep would end (the full parallel suite can stall this process
        // for 15-20 s, so a tighter bound would measure the scheduler, not the kill).
        #expect(ContinuousClock.now - started < .seconds(60))
        // The cancel overtakes its invocation.
        #expect(await runner.cancel(idempotencyKey: "c-2") == false)
        let late = try await runner.invoke(tool: "shell", request: InvocationRequest(arguments: ["command": "sleep 120"], idempotencyKey: "c-2"), trace: trace)
        #expect(late.status == .cancelled)
        #expect(late.durationMs < 60_000)
    }

    @Test("file tools stay inside the workspace")
    func fileTools() async throws {
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner()
        defer { cleanup() }
        let write = try await runner.invoke(tool: "write_file", request: InvocationRequest(arguments: ["path": "a/b.txt", "content": "hi"]), trace: trace)
        #expect(write.status == .succeeded)
        let read = try await runner.invoke(tool: "read_file", request: InvocationRequest(arguments: ["path": "a/b.txt"]), trace: trace)
        #expect(read.output["content"] == "hi")
        let list = try await runner.invoke(tool: "list_files", request: InvocationRequest(arguments: ["recursive": true]), trace: trace)
        #expect(list.output["entries"]?.arrayValue?.contains { $0["path"] == "a/b.txt" } == true)
        let escape = try await runner.invoke(tool: "read_file", request: InvocationRequest(arguments: ["path": "../../etc/passwd"]), trace: trace)
        #expect(escape.status == .failed)
        #expect(escape.errorCode == "path_outside_workspace")
    }
}
