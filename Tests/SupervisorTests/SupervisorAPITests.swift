import Foundation
import NIOHTTP1
import PersonaKit
import Testing
@testable import Supervisor

/// The whole supervisor in this process (reaper in `ownGroups` mode), its API over the
/// run directory's unix socket, and a fake control plane on another socket.
final class RunningSupervisor: Sendable {
    let root: String
    let supervisor: Supervisor
    let controlPlane: FakeControlPlane
    let token = "test-token-\(UUID().uuidString)"
    let client = SimpleHTTPClient()
    let task: Task<Void, any Error>

    var workspace: String { root + "/workspace" }
    var socket: String { supervisor.configuration.socketPath }

    init(secrets: [String: String] = [:]) async throws {
        root = try Fixtures.temporaryDirectory("sup")
        for dir in ["run", "cache", "workspace", "cp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        FileManager.default.createFile(atPath: root + "/run/token", contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
        controlPlane = FakeControlPlane(socketPath: root + "/cp/control.sock", secrets: secrets)
        try await controlPlane.start()
        var config = SupervisorConfiguration(
            personaId: "persona-1", runDirectory: root + "/run", workspace: root + "/workspace", cacheDirectory: root + "/cache",
            toolsDirectory: Fixtures.toolsDirectory, controlPlane: .unixSocket(root + "/cp/control.sock"),
            heartbeatInterval: .seconds(1), shutdownGrace: .milliseconds(500))
        config.memorySearchTimeout = .seconds(20)  // the whole suite (browsers in containers too) shares two cores
        let supervisor = Supervisor(configuration: config, reaperMode: .ownGroups, logger: Fixtures.logger)
        self.supervisor = supervisor
        let ready = AsyncStream<Void>.makeStream()
        task = Task {
            defer { ready.continuation.finish() }
            try await supervisor.run(onReady: { _ in ready.continuation.yield() })
        }
        var iterator = ready.stream.makeAsyncIterator()
        await iterator.next()
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, token: String? = nil,
                 headers: [(String, String)] = []) async throws -> SimpleHTTPClient.Response {
        // A functional deadline, not a latency check: beside the other 58 suites on two cores, a
        // tool invocation that syncs and embeds through the fake control plane has taken over 10 s.
        try await client.send(.unixSocket(socket), method: method, path: path,
                              headers: [("Authorization", "Bearer \(token ?? self.token)")] + headers, body: body,
                              timeout: .seconds(60))
    }

    func invoke(_ tool: String, _ request: InvocationRequest) async throws -> InvocationResult {
        let response = try await self.request(.POST, "/v1/tools/\(tool)/invocations", body: Array(try JSONEncoder().encode(request)))
        return try SupervisorJSON.decoder.decode(InvocationResult.self, from: Data(response.body))
    }

    func stop() async throws {
        supervisor.requestShutdown()
        try await task.value
        controlPlane.stop()
        Fixtures.remove(root)
    }
}

@Suite("Supervisor HTTP API over its unix socket")
struct SupervisorAPITests {
    @Test("every request needs the container token; errors are {error, code, traceId}")
    func authentication() async throws {
        let sv = try await RunningSupervisor()
        let missing = try await sv.client.send(.unixSocket(sv.socket), method: .GET, path: "/health")
        let wrong = try await sv.request(.GET, "/v1/info", token: "nope")
        try await sv.stop()
        for response in [missing, wrong] {
            #expect(response.status == 401)
            let payload = try JSONDecoder().decode(ErrorPayload.self, from: Data(response.body))
            #expect(payload.code == "unauthorized")
            #expect(payload.traceId.count == 32)
            #expect(response.header("X-Trace-Id") == payload.traceId)
        }
    }

    @Test("health, info and tools answer; registration and secrets go over the control-plane socket")
    func healthInfoTools() async throws {
        let sv = try await RunningSupervisor(secrets: ["API_KEY": "s3cret"])
        let health = try await sv.request(.GET, "/health")
        let info = try SupervisorJSON.decoder.decode(SupervisorInfo.self, from: Data(try await sv.request(.GET, "/v1/info").body))
        let tools = try await sv.request(.GET, "/v1/tools")
        let registered = await Fixtures.eventually(5) { sv.controlPlane.requests.contains { $0.path == SupervisorRoutes.register } }
        let heartbeat = await Fixtures.eventually(5) { sv.controlPlane.requests.contains { $0.path == SupervisorRoutes.heartbeat } }
        let requests = sv.controlPlane.requests
        try await sv.stop()
        #expect(health.status == 200)
        #expect(try JSONDecoder().decode(SupervisorHealth.self, from: Data(health.body)).status == "ok")
        #expect(info.personaId == "persona-1")
        #expect(info.toolCount == 16)
        #expect(info.rssBytes > 0)
        let names = try JSONDecoder().decode([String: [ToolManifest]].self, from: Data(tools.body))["tools"]?.map(\.name)
        // tools/ without the browser and desktop tools (no sidecars here).
        #expect(names == ["email_flag", "email_list", "email_move", "email_read", "email_runtime", "email_send",
                          "generate_document", "generate_presentation", "generate_spreadsheet", "http_fetch", "list_files", "memory_search",
                          "office_runtime", "read_file", "shell", "write_file"])
        #expect(registered)
        #expect(heartbeat)
        #expect(requests.contains { $0.path == SupervisorRoutes.secrets && $0.method == "GET" })
        let register = try #require(requests.first { $0.path == SupervisorRoutes.register })
        let body = try SupervisorJSON.decoder.decode(RegisterRequest.self, from: Data(register.body))
        #expect(body.personaId == "persona-1")
        #expect(body.tools.count == 16)
        #expect(register.authorization == "Bearer \(sv.token)")
    }

    @Test("shell runs in the workspace, the trace id flows from the request into the tool, events reach the control plane")
    func shellInvocation() async throws {
        let sv = try await RunningSupervisor()
        let trace = TraceContext.newRoot()
        let response = try await sv.request(
            .POST, "/v1/tools/shell/invocations",
            body: Array(try JSONEncoder().encode(InvocationRequest(arguments: ["command": "pwd; echo $TRACEPARENT"]))),
            headers: [("traceparent", trace.traceparent)])
        let result = try SupervisorJSON.decoder.decode(InvocationResult.self, from: Data(response.body))
        let delivered = await Fixtures.eventually(5) { sv.controlPlane.events.count >= 2 }
        let events = sv.controlPlane.events
        try await sv.stop()
        #expect(response.status == 200)
        #expect(result.status == .succeeded)
        #expect(result.traceId == trace.traceId)
        let lines = result.output["stdout"]?.stringValue?.split(separator: "\n") ?? []
        #expect(lines.first.map(String.init) == sv.workspace)
        #expect(lines.last.flatMap { TraceContext(traceparent: String($0)) }?.traceId == trace.traceId)
        #expect(response.header("X-Trace-Id") == trace.traceId)
        #expect(delivered)
        #expect(events.map(\.kind) == [.started, .finished])
        #expect(events.last?.result?.status == .succeeded)
    }

    @Test("files: put, get and list under the workspace; escapes are refused with 403")
    func files() async throws {
        let sv = try await RunningSupervisor()
        let put = try await sv.request(.PUT, "/v1/files?path=docs/hello%20world.txt", body: Array("content".utf8))
        let get = try await sv.request(.GET, "/v1/files?path=docs/hello%20world.txt")
        let list = try await sv.request(.GET, "/v1/files/list?path=docs")
        let escape = try await sv.request(.GET, "/v1/files?path=../run/token")
        let absolute = try await sv.request(.PUT, "/v1/files?path=/etc/evil", body: [1])
        let onDisk = try? String(contentsOfFile: sv.workspace + "/docs/hello world.txt", encoding: .utf8)
        try await sv.stop()
        #expect(put.status == 201)
        #expect(get.status == 200)
        #expect(String(decoding: get.body, as: UTF8.self) == "content")
        #expect(onDisk == "content")
        #expect(String(decoding: list.body, as: UTF8.self).contains(#""path":"docs\/hello world.txt""#))
        #expect(escape.status == 403)
        #expect(absolute.status == 403)
        #expect(try JSONDecoder().decode(ErrorPayload.self, from: Data(escape.body)).code == "path_outside_workspace")
    }

    @Test("cancel ends a running invocation; shutdown is clean while a tool runs")
    func cancelAndShutdown() async throws {
        let sv = try await RunningSupervisor()
        async let running = sv.invoke("shell", InvocationRequest(arguments: ["command": "sleep 30"]))
        var id: String?
        for _ in 0..<100 where id == nil {
            try await Task.sleep(for: .milliseconds(20))
            let info = try SupervisorJSON.decoder.decode(SupervisorInfo.self, from: Data(try await sv.request(.GET, "/v1/info").body))
            id = info.recentInvocations.first { $0.status == .running }?.id
        }
        let invocationID = try #require(id)
        let cancel = try await sv.request(.POST, "/v1/invocations/\(invocationID)/cancel")
        let result = try await running
        #expect(cancel.status == 202)
        #expect(result.status == .cancelled)
        let unknown = try await sv.request(.POST, "/v1/invocations/nope/cancel")
        #expect(unknown.status == 404)

        // A tool still running at shutdown gets SIGTERM and the supervisor returns promptly.
        async let late = sv.invoke("shell", InvocationRequest(arguments: ["command": "sleep 30"]))
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        try await sv.stop()
        #expect(ContinuousClock.now - started < .seconds(5))
        let lateResult = try? await late
        #expect(lateResult == nil || lateResult?.status != .succeeded)
    }
}
