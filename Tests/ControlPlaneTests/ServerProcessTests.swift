import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PersonaKit
import Testing

/// Runs the real `persona-control-plane` executable (built by `swift build --build-tests`).
@Suite("The persona-control-plane process", .serialized)
struct ServerProcessTests {
    static let binary: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/persona-control-plane").path
    }()

    final class Server: @unchecked Sendable {
        // Only touched from the test's task; Process itself is used from one place at a time.
        let process = Process()
        let output = Pipe()
        let port: Int
        var captured = Data()

        init(environment: [String: String], port: Int) throws {
            self.port = port
            process.executableURL = URL(fileURLWithPath: ServerProcessTests.binary)
            process.arguments = ["serve", "--env-file", "/nonexistent/.env"]
            process.environment = environment
            process.standardOutput = output
            process.standardError = output
            try process.run()
        }

        func collectOutput() -> String {
            String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        }
    }

    func environment(storage: String, port: Int, extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/bin:/bin", "STORAGE_PATH": storage, "HOST": "127.0.0.1", "PORT": String(port),
                   "LOG_FILE": storage + "/logs/app.log", "BCRYPT_COST": "4", "RATE_LIMIT_ENABLED": "false"]
        env.merge(extra) { $1 }
        return env
    }

    func waitUntilHealthy(_ client: HTTPClient, port: Int) async throws {
        for _ in 0..<200 {
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(1)),
               response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("server on port \(port) did not become healthy")
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
        let port = Int.random(in: 41000..<49000)
        let server = try Server(environment: environment(storage: storage, port: port), port: port)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await waitUntilHealthy(client, port: port)
            let console = server.collectOutput()
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

            server.process.terminate()
            server.process.waitUntilExit()
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
            again.process.waitUntilExit()
            #expect(again.process.terminationStatus == 0)
        } catch {
            if server.process.isRunning { server.process.terminate() }
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    @Test("production mode refuses to start without strong secrets")
    func productionRefusesWeakSecrets() throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent("persona-proc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let server = try Server(environment: environment(storage: storage, port: 1, extra: ["PERSONA_ENV": "production", "JWT_SECRET": "short"]), port: 1)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus != 0)
        let output = String(decoding: server.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.contains("JWT_SECRET"))
    }
}
