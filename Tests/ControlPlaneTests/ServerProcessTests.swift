import AsyncHTTPClient
import ControlPlane
import DockerEngine
import Foundation
import NIOCore
import NIOHTTP1
import PersonaKit
import Testing
import TestSupport
import TestTraits
@testable import LLM

/// Runs the real `persona-control-plane` executable (built by `swift build --build-tests`).
@Suite("The persona-control-plane process", .serialized, .blocking)
struct ServerProcessTests {
    static let binary: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/persona-control-plane").path
    }()

    final class Server: @unchecked Sendable {
        // `process` is only touched from the test's task; the output is drained by a reader
        // thread the whole time (an undrained pipe fills and blocks the server's logging).
        let process = Process()
        let output = Pipe()
        let port: Int
        private let captured = OutputBuffer()
        private let drained = DispatchSemaphore(value: 0)

        final class OutputBuffer: @unchecked Sendable {  // guarded by `lock`
            private let lock = NSLock()
            private var data = Data()
            func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
            var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
        }

        init(environment: [String: String], port: Int) throws {
            self.port = port
            process.executableURL = URL(fileURLWithPath: ServerProcessTests.binary)
            process.arguments = ["serve", "--env-file", "/nonexistent/.env"]
            process.environment = environment
            // Not the repository: nothing may depend on the working directory (the embedding
            // model is found above the executable).
            process.currentDirectoryURL = FileManager.default.temporaryDirectory
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let handle = output.fileHandleForReading
            Thread.detachNewThread { [captured, drained] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    captured.append(chunk)
                }
                drained.signal()
            }
        }

        /// Everything the server printed so far (after it exited: everything).
        func collectOutput() -> String {
            if !process.isRunning { _ = drained.wait(timeout: .now() + 5) ; drained.signal() }
            return captured.text
        }
    }

    func environment(storage: String, port: Int, extra: [String: String] = [:]) -> [String: String] {
        let short = UUID().uuidString.prefix(8).lowercased()
        var env = ["PATH": "/usr/bin:/bin", "STORAGE_PATH": storage, "HOST": "127.0.0.1", "PORT": String(port),
                   "LOG_FILE": storage + "/logs/app.log", "BCRYPT_COST": "4", "RATE_LIMIT_ENABLED": "false",
                   "PERSONA_RUN_DIR": "/tmp/pr-\(short)", "PERSONA_CONTROL_SOCKET_DIR": "/tmp/pc-\(short)"]
        for key in ["DOCKER_HOST", "DOCKER_SOCKET_PATH", "PERSONA_IMAGE"] {
            if let value = ProcessInfo.processInfo.environment[key] { env[key] = value }
        }
        env.merge(extra) { $1 }
        return env
    }

    /// A port below the ephemeral range (so no outgoing connection holds it) that binds now.
    static func freePort() -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20000..<30000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
        return Int.random(in: 20000..<30000)
    }

    func waitUntilHealthy(_ client: HTTPClient, port: Int, server: Server? = nil) async throws {
        for _ in 0..<200 {
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(1)),
               response.status == .ok { return }
            if let server, !server.process.isRunning {
                throw TestFailure("server on port \(port) exited with \(server.process.terminationStatus): \(server.collectOutput().suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("server on port \(port) did not become healthy (running: \(server?.process.isRunning ?? true))")
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, json: String? = nil,
              headers: [(String, String)] = []) async throws -> (UInt, HTTPHeaders, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, response.headers, String(buffer: body))
    }

    @Test("serves on the embedded SQLite default, prints the generated admin once, logs JSON with trace ids, stops on SIGTERM with 0")
    func fullLifecycle() async throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let port = Self.freePort()
        let server = try Server(environment: environment(storage: storage, port: port), port: port)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await waitUntilHealthy(client, port: port)
            var console = server.collectOutput()
            for _ in 0..<50 where !console.contains("password:") {
                try await Task.sleep(for: .milliseconds(100))
                console = server.collectOutput()
            }
            let password = try #require(console.split(separator: "\n").first { $0.contains("password:") }?
                .split(separator: ":").last?.trimmingCharacters(in: .whitespaces))
            let (status, _, body) = try await send(client, .POST, "http://127.0.0.1:\(port)/api/auth/login",
                                                   json: #"{"email":"admin@persona.local","password":"\#(password)"}"#)
            #expect(status == 200)
            let token = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))["data"]?["accessToken"]?.stringValue)
            let traceId = TraceContext.newRoot().traceId
            let (meStatus, meHeaders, _) = try await send(client, .GET, "http://127.0.0.1:\(port)/api/users/me",
                                                          headers: [("Authorization", "Bearer \(token)"),
                                                                    ("traceparent", "00-\(traceId)-00f067aa0ba902b7-01")])
            #expect(meStatus == 200)
            #expect(meHeaders.first(name: "X-Trace-Id") == traceId)
            #expect(FileManager.default.fileExists(atPath: storage + "/persona.db"))
            // Started outside the repository without PERSONA_MODELS_DIR, it still has its embedder.
            let (readyStatus, _, ready) = try await send(client, .GET, "http://127.0.0.1:\(port)/readyz")
            #expect(readyStatus == 200)
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(ready.utf8))["embedder"] == "all-MiniLM-L6-v2", "\(ready)")

            server.process.terminate()
            await TestCommand.exit(of: server.process)
            #expect(server.process.terminationReason == .exit)
            #expect(server.process.terminationStatus == 0)

            let log = try String(contentsOfFile: storage + "/logs/app.log", encoding: .utf8)
            let lines = log.split(separator: "\n").compactMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            #expect(lines.count >= 3)
            #expect(lines.contains { $0["msg"] == "request" && $0["trace_id"]?.stringValue == traceId && $0["route"] == "/api/users/me" })
            #expect(!log.contains(password), "the generated password must not reach the log file")
            #expect(!log.contains(token))
            // A clean start warns about nothing (background services wait for the migrations).
            #expect(!lines.contains { $0["level"] == "warning" || $0["level"] == "error" }, "\(log)")

            // A restart keeps the generated secrets and users: the old token still works, no new admin is made.
            let again = try Server(environment: environment(storage: storage, port: port), port: port)
            try await waitUntilHealthy(client, port: port)
            let (stillOK, _, _) = try await send(client, .GET, "http://127.0.0.1:\(port)/api/users/me",
                                                 headers: [("Authorization", "Bearer \(token)")])
            #expect(stillOK == 200)
            #expect(!again.collectOutput().contains("password:"))
            again.process.interrupt()
            await TestCommand.exit(of: again.process)
            #expect(again.process.terminationStatus == 0)
        } catch {
            if server.process.isRunning { server.process.terminate() }
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test("a control plane killed with SIGKILL and restarted adopts its running persona container instead of duplicating it")
    func adoptsRunningContainers() async throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let port = Self.freePort()
        var env = environment(storage: storage, port: port, extra: ["PERSONA_ADMIN_EMAIL": "admin@example.com",
                                                                    "PERSONA_ADMIN_PASSWORD": "adoption test password",
                                                                    "PERSONA_HEARTBEAT_SECONDS": "1"])
        env["LOG_LEVEL"] = "info"
        let docker = try await Docker.Client.connect(to: try Docker.Endpoint.fromEnvironment())
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var personaId: String?
        var server = try Server(environment: env, port: port)
        do {
            try await waitUntilHealthy(client, port: port)
            let base = "http://127.0.0.1:\(port)"
            let (_, _, login) = try await send(client, .POST, base + "/api/auth/login",
                                               json: #"{"email":"admin@example.com","password":"adoption test password"}"#)
            let token = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(login.utf8))["data"]?["accessToken"]?.stringValue)
            let auth = [("Authorization", "Bearer \(token)")]
            let (_, _, created) = try await send(client, .POST, base + "/api/personas", json: #"{"name":"Adopted"}"#, headers: auth)
            let id = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(created.utf8))["data"]?["id"]?.stringValue)
            personaId = id
            let (startStatus, _, started) = try await send(client, .POST, base + "/api/personas/\(id)/container/start?wait=60", headers: auth)
            #expect(startStatus == 200, "\(started)")
            let containerId = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(started.utf8))["data"]?["containerId"]?.stringValue)

            kill(server.process.processIdentifier, SIGKILL)
            await TestCommand.exit(of: server.process)
            server = try Server(environment: env, port: port)
            try await waitUntilHealthy(client, port: port, server: server)

            var state: JSONValue?
            for _ in 0..<100 {
                let (_, _, body) = try await send(client, .GET, base + "/api/personas/\(id)/container", headers: auth)
                state = try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))["data"]
                if state?["state"] == "ready" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(state?["state"] == "ready", "\(String(describing: state))")
            #expect(state?["containerId"]?.stringValue == containerId)
            let (invokeStatus, _, invoked) = try await send(client, .POST, base + "/api/personas/\(id)/tools/shell/invoke",
                                                            json: #"{"arguments":{"command":"echo adopted"}}"#, headers: auth)
            #expect(invokeStatus == 200, "\(invoked)")
            #expect(invoked.contains("adopted"))
            // Let a sweep run, then count: still exactly one container for the persona.
            try await Task.sleep(for: .seconds(1))
            let all = try await docker.listContainers(all: true, filters: Docker.Filters.label("io.persona.persona-id", id))
            #expect(all.map(\.id) == [containerId])

            let (deleted, _, _) = try await send(client, .DELETE, base + "/api/personas/\(id)", headers: auth)
            #expect(deleted == 204)
            #expect(try await docker.listContainers(all: true, filters: Docker.Filters.label("io.persona.persona-id", id)).isEmpty)
            server.process.terminate()
            await TestCommand.exit(of: server.process)
            #expect(server.process.terminationStatus == 0)
        } catch {
            if server.process.isRunning { server.process.terminate() }
            await cleanUp(docker: docker, client: client, personaId: personaId)
            throw error
        }
        await cleanUp(docker: docker, client: client, personaId: nil)
    }

    /// Removes a persona's containers (after a failure) and closes both clients.
    func cleanUp(docker: Docker.Client, client: HTTPClient, personaId: String?) async {
        if let personaId {
            for container in (try? await docker.listContainers(all: true, filters: Docker.Filters.label("io.persona.persona-id", personaId))) ?? [] {
                try? await docker.removeContainer(container.id, force: true)
            }
        }
        try? await client.shutdown()
        try? await docker.shutdown()
    }

    @Test("a control plane killed with SIGKILL in the middle of runs and restarted: every run completes, no tool side effect happens twice")
    func runsSurviveSIGKILL() async throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let runCount = 3
        // Each run: one tool call that leaves a mark and then takes a while (the kill lands
        // during it), then an answer. Replies go out in request order, whichever run asks.
        let calls: [ScriptedReply] = (1...runCount).map {
            .toolCalls([Chat.ToolCall(id: "c\($0)", name: "shell", arguments: #"{"command":"echo mark-\#($0) >> effects.txt; sleep 3"}"#)])
        }
        let llm = ScriptedLLM(calls + Array(repeating: .text("done"), count: runCount))
        let docker = try await Docker.Client.connect(to: try Docker.Endpoint.fromEnvironment())
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        final class Box: @unchecked Sendable { var value: String? }  // set once, read after the closure
        let personaId = Box()
        do {
            try await llm.serve { url in
                let port = Self.freePort()
                let env = environment(storage: storage, port: port, extra: [
                    "PERSONA_ADMIN_EMAIL": "admin@example.com", "PERSONA_ADMIN_PASSWORD": "crash test password",
                    "PERSONA_HEARTBEAT_SECONDS": "1", "RUN_LEASE_SECONDS": "3", "LITELLM_PROXY_URL": url,
                ])
                var server = try Server(environment: env, port: port)
                defer { if server.process.isRunning { server.process.terminate(); server.process.waitUntilExit() } }
                try await waitUntilHealthy(client, port: port, server: server)
                let base = "http://127.0.0.1:\(port)"
                func call(_ method: HTTPMethod, _ path: String, _ json: String? = nil, token: String?) async throws -> JSONValue? {
                    let (status, _, body) = try await send(client, method, base + path, json: json,
                                                           headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
                    guard status < 300 else { throw TestFailure("\(method) \(path): \(status) \(body)") }
                    return body.isEmpty ? nil : try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))["data"]
                }
                let token = try #require(try await call(.POST, "/api/auth/login", #"{"email":"admin@example.com","password":"crash test password"}"#,
                                                        token: nil)?["accessToken"]?.stringValue)
                let persona = try #require(try await call(.POST, "/api/personas", #"{"name":"Crash"}"#, token: token)?["id"]?.stringValue)
                personaId.value = persona
                _ = try await call(.POST, "/api/personas/\(persona)/container/start?wait=60", token: token)
                let agent = try #require(try await call(.POST, "/api/personas/\(persona)/agents",
                                                        #"{"name":"A","model":"m","tools":["shell"],"maxSteps":6}"#, token: token)?["id"]?.stringValue)
                var runs: [String] = []
                for _ in 0..<runCount {
                    runs.append(try #require(try await call(.POST, "/api/runs", #"{"agentId":"\#(agent)","input":"go"}"#, token: token)?["id"]?.stringValue))
                }
                // Kill once every run's tool is running.
                var running = 0
                for _ in 0..<400 where running < runCount {
                    running = try await call(.GET, "/api/personas/\(persona)/tool-runs", token: token)?.arrayValue?
                        .filter { $0["status"] == "running" }.count ?? 0
                    if running < runCount { try await Task.sleep(for: .milliseconds(25)) }
                }
                #expect(running == runCount)
                kill(server.process.processIdentifier, SIGKILL)
                await TestCommand.exit(of: server.process)

                server = try Server(environment: env, port: port)
                try await waitUntilHealthy(client, port: port, server: server)
                var statuses: [String] = []
                for _ in 0..<600 {
                    statuses = []
                    for run in runs { statuses.append(try await call(.GET, "/api/runs/\(run)", token: token)?["status"]?.stringValue ?? "?") }
                    if statuses.allSatisfy({ $0 == "completed" || $0 == "failed" || $0 == "cancelled" }) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(statuses == Array(repeating: "completed", count: runCount), "\(statuses)")
                let marks = try String(contentsOfFile: storage + "/personas/\(persona)/workspace/effects.txt", encoding: .utf8)
                    .split(separator: "\n").map(String.init).sorted()
                #expect(marks == (1...runCount).map { "mark-\($0)" }, "each tool's side effect exactly once: \(marks)")
                let toolRuns = try await call(.GET, "/api/personas/\(persona)/tool-runs", token: token)?.arrayValue ?? []
                #expect(toolRuns.count == runCount)
                #expect(toolRuns.allSatisfy { $0["status"] == "succeeded" }, "\(toolRuns.map { $0["status"] })")
                _ = try await call(.DELETE, "/api/personas/\(persona)", token: token)
                server.process.terminate()
                await TestCommand.exit(of: server.process)
            }
        } catch {
            await cleanUp(docker: docker, client: client, personaId: personaId.value)
            throw error
        }
        await cleanUp(docker: docker, client: client, personaId: nil)
    }

    @Test("production mode refuses to start without strong secrets")
    func productionRefusesWeakSecrets() async throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let server = try Server(environment: environment(storage: storage, port: 1, extra: ["PERSONA_ENV": "production", "JWT_SECRET": "short"]), port: 1)
        await TestCommand.exit(of: server.process)
        #expect(server.process.terminationStatus != 0)
        let output = server.collectOutput()
        #expect(output.contains("JWT_SECRET"))
    }
}
