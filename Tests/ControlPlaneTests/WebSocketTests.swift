import ControlPlane
import Foundation
import PersonaKit
import PersonaStorage
import Testing
import TestSupport
import HummingbirdWSClient

/// `/api/ws` over a real socket (swift-websocket's client against the live server).
@Suite("WebSocket event stream")
struct WebSocketTests {
    /// Appends a persona event the way the server's writers do (same table, same transaction rules).
    func append(_ components: AppComponents, persona: String, type: String, data: JSONValue) async throws {
        try await components.database.withConnection {
            try await PersonaEventRepository().append(personaId: persona, type: type, data: data, now: Date(), on: $0)
        }
    }

    func connect(_ api: APIClient, token: String) throws -> EventSocketClient {
        EventSocketClient(port: try #require(api.port), protocols: ["persona.v1", "bearer.\(token)"])
    }

    func isEvent(_ topic: String) -> (JSONValue) -> Bool {
        { $0["type"] == "event" && $0["topic"]?.stringValue == topic }
    }

    @Test("authenticates by subprotocol or first message, streams a persona's events live and resumes after lastEventId",
          arguments: TestBackend.allCases)
    func streamAndResume(backend: TestBackend) async throws {
        try await TestApp.run(backend, setup: .live) { api, components in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Live"]).data?["id"]?.stringValue)
            let socket = try connect(api, token: admin)
            defer { socket.finish() }
            #expect(await socket.next()?["type"] == "ready")
            socket.send(["type": "subscribe", "topic": .string("persona:\(persona)")])
            #expect(await socket.next()?["type"] == "subscribed")
            for n in 1...3 { try await append(components, persona: persona, type: "test.step", data: ["n": .number(Double(n))]) }
            var ids: [Int] = []
            for n in 1...3 {
                let frame = try #require(await socket.next(where: isEvent("persona:\(persona)")))
                #expect(frame["event"] == "test.step")
                #expect(frame["data"]?["n"]?.intValue == n)
                ids.append(try #require(frame["id"]?.intValue))
            }
            #expect(ids == ids.sorted() && Set(ids).count == 3)

            // A second socket authenticates with its first message and resumes after the first id.
            let resumed = EventSocketClient(port: try #require(api.port))
            defer { resumed.finish() }
            resumed.send(["type": "auth", "token": .string(admin)])
            #expect(await resumed.next()?["type"] == "ready")
            resumed.send(["type": "subscribe", "topic": .string("persona:\(persona)"), "lastEventId": .number(Double(ids[0]))])
            try await append(components, persona: persona, type: "test.step", data: ["n": 4])
            var replayed: [Int] = []
            while replayed.count < 3, let frame = await resumed.next(where: isEvent("persona:\(persona)")) {
                replayed.append(try #require(frame["data"]?["n"]?.intValue))
            }
            #expect(replayed == [2, 3, 4])
            // Nothing twice: the replay and the live stream met without overlap.
            #expect(await resumed.next(timeout: .milliseconds(300), where: isEvent("persona:\(persona)")) == nil)
        }
    }

    @Test("a bad token, a missing one and a garbage first message close with 4401")
    func refusesWithoutToken() async throws {
        try await TestApp.run(.sqlite, setup: .live, configure: { $0.events.authTimeout = .milliseconds(500) }) { api, _ in
            let port = try #require(api.port)
            let bad = EventSocketClient(port: port, protocols: ["persona.v1", "bearer.not-a-token"])
            #expect(try await bad.closeFrame()?.closeCode == .unknown(4401))
            let silent = EventSocketClient(port: port)
            #expect(try await silent.closeFrame()?.closeCode == .unknown(4401))
            let garbage = EventSocketClient(port: port)
            garbage.send(text: "hello")
            #expect(try await garbage.closeFrame()?.closeCode == .unknown(4401))
        }
    }

    @Test("subscriptions are checked per topic: another user's persona is not found, alerts show only visible personas")
    func visibility() async throws {
        try await TestApp.run(.sqlite, setup: .live) { api, components in
            let admin = try await api.login().access
            let (_, userToken) = try await api.makeUser("bob@example.com", adminToken: admin)
            let adminPersona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Admin's"]).data?["id"]?.stringValue)
            let bobPersona = try #require(try await api.post("/api/personas", token: userToken, json: ["name": "Bob's"]).data?["id"]?.stringValue)
            let bob = try connect(api, token: userToken)
            let root = try connect(api, token: admin)
            defer { bob.finish(); root.finish() }
            #expect(await bob.next()?["type"] == "ready")
            #expect(await root.next()?["type"] == "ready")
            bob.send(["type": "subscribe", "topic": .string("persona:\(adminPersona)")])
            let refused = await bob.next()
            #expect(refused?["type"] == "error")
            #expect(refused?["code"] == "not_found")
            bob.send(["type": "subscribe", "topic": "nonsense"])
            #expect(await bob.next()?["code"] == "bad_topic")
            for socket in [bob, root] {
                socket.send(["type": "subscribe", "topic": "alerts"])
                #expect(await socket.next()?["type"] == "subscribed")
            }
            // Alerts opened through the repository write their events as the monitor's do.
            try await components.database.transaction { tx in
                _ = try await AlertRepository().open(personaId: adminPersona, kind: .cpuHigh, message: "hot", value: 95, threshold: 80,
                                                     now: Date(), on: tx)
                _ = try await AlertRepository().open(personaId: bobPersona, kind: .memoryHigh, message: "full", value: 95, threshold: 90,
                                                     now: Date(), on: tx)
            }
            let seenByRoot = [await root.next(where: isEvent("alerts")), await root.next(where: isEvent("alerts"))]
            #expect(Set(seenByRoot.compactMap { $0?["data"]?["personaId"]?.stringValue }) == [adminPersona, bobPersona])
            #expect(seenByRoot.allSatisfy { $0?["event"] == "alert.opened" })
            let seenByBob = await bob.next(where: isEvent("alerts"))
            #expect(seenByBob?["data"]?["personaId"]?.stringValue == bobPersona)
            #expect(await bob.next(timeout: .milliseconds(500), where: isEvent("alerts")) == nil)
        }
    }

    @Test("a run's topic replays and follows its events with the SSE stream's ids, then ends", arguments: TestBackend.allCases)
    func runTopic(backend: TestBackend) async throws {
        let llm = ScriptedLLM([.text("The answer is 42.", pieces: 3)])
        try await llm.serve { url in
            try await TestApp.run(backend, setup: .live, configure: {
                $0.litellmProxyURL = url
                $0.runWorker.pollInterval = .milliseconds(50)
            }) { api, _ in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Runner"]).data?["id"]?.stringValue)
                let agent = try #require(try await api.post("/api/personas/\(persona)/agents", token: admin, json: [
                    "name": "Helper", "model": "gpt-4o-mini",
                ]).data?["id"]?.stringValue)
                let run = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "?"])
                    .data?["id"]?.stringValue)
                let socket = try connect(api, token: admin)
                defer { socket.finish() }
                #expect(await socket.next()?["type"] == "ready")
                socket.send(["type": "subscribe", "topic": .string("run:\(run)")])
                var ids: [Int] = []
                while let frame = await socket.next(timeout: .seconds(20), where: {
                    $0["topic"]?.stringValue == "run:\(run)" && ($0["type"] == "event" || $0["type"] == "end")
                }) {
                    if frame["type"] == "end" { break }
                    ids.append(try #require(frame["id"]?.intValue))
                }
                let sse = try await api.get("/api/runs/\(run)/events", token: admin).body
                let sseIds = sse.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
                #expect(!ids.isEmpty)
                #expect(ids == sseIds)
            }
        }
    }

    @Test("WEBSOCKET_PORT adds a second listener serving /api/ws")
    func secondListener() async throws {
        let port = Int.random(in: 40_000...44_000)
        try await TestApp.run(.sqlite, setup: .live, configure: { $0.websocketPort = port }) { api, _ in
            let admin = try await api.login().access
            var socket: EventSocketClient?
            // The listener comes up with the server; give it a moment on a loaded machine.
            for _ in 0..<50 {
                let attempt = EventSocketClient(port: port, protocols: ["persona.v1", "bearer.\(admin)"])
                if await attempt.next(timeout: .seconds(2))?["type"] == "ready" { socket = attempt; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let connected = try #require(socket, "no WebSocket on port \(port)")
            connected.send(["type": "ping"])
            #expect(await connected.next()?["type"] == "pong")
            connected.finish()
        }
    }

    @Test("events this process writes reach sockets at once, without waiting for the hub's poll (an hour here)")
    func inProcessWake() async throws {
        // The LLM answers after a second, so the run ends while the socket follows it live.
        let llm = ScriptedLLM([.stall(.seconds(1), then: .init(.text("Done.", pieces: 1)))])
        try await llm.serve { url in
            // A poll an hour: only the process's own signal can deliver within the bound below
            // (which leaves a full run's load room: 6 s against a 10 s poll failed once at 6.2 s).
            try await TestApp.run(.sqlite, setup: .live, configure: {
                $0.events.pollInterval = .seconds(3600)
                $0.litellmProxyURL = url
                $0.runWorker.pollInterval = .milliseconds(50)
            }) { api, _ in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Quick"]).data?["id"]?.stringValue)
                let agent = try #require(try await api.post("/api/personas/\(persona)/agents", token: admin, json: [
                    "name": "Helper", "model": "gpt-4o-mini",
                ]).data?["id"]?.stringValue)
                let socket = try connect(api, token: admin)
                defer { socket.finish() }
                #expect(await socket.next()?["type"] == "ready")
                let run = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "?"])
                    .data?["id"]?.stringValue)
                socket.send(["type": "subscribe", "topic": .string("run:\(run)")])
                #expect(await socket.next(where: { $0["type"] == "subscribed" }) != nil)
                let started = ContinuousClock.now
                // The run's last events and the end arrive about a second later, well inside one poll.
                let end = await socket.next(timeout: .seconds(30), where: { $0["type"] == "end" })
                #expect(end != nil, "the run's end did not arrive before the hub's next poll")
                #expect(ContinuousClock.now - started < .seconds(30))
            }
        }
    }

    @Test("logout closes the socket with 4401")
    func logoutCloses() async throws {
        try await TestApp.run(.sqlite, setup: .live, configure: { $0.events.revalidateInterval = .milliseconds(200) }) { api, _ in
            let token = try await api.login().access
            let socket = try connect(api, token: token)
            #expect(await socket.next()?["type"] == "ready")
            #expect(try await api.post("/api/auth/logout", token: token).status == .noContent)
            let close = try await socket.closeFrame()
            #expect(close?.closeCode == .unknown(4401))
            #expect(close?.reason == "session ended")
        }
    }

    @Test("a client that stops reading is dropped (4008) once its queue stays past the limit; one that reads a bigger burst is not")
    func slowClientDropped() async throws {
        try await TestApp.run(.sqlite, setup: .live, configure: {
            $0.events.queueLimit = 256
            // Long enough that the reading client, starved of CPU in a loaded full run, is not
            // taken for a stalled one (a full run saw both dropped at 2 s).
            $0.events.stallTimeout = .seconds(5)
        }) { api, components in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Firehose"]).data?["id"]?.stringValue)
            let port = try #require(api.port)
            let slow = EventSocketClient(port: port, protocols: ["persona.v1", "bearer.\(admin)"], readDelay: .seconds(60))
            let fast = try connect(api, token: admin)
            defer { slow.finish(); fast.finish() }
            for socket in [slow, fast] { socket.send(["type": "subscribe", "topic": .string("persona:\(persona)")]) }
            #expect(await fast.next(where: { $0["type"] == "subscribed" }) != nil)
            try await Task.sleep(for: .milliseconds(200))
            #expect(components.hub.connectionCount == 2)
            // 32 MiB of events in bursts of 128 (2048 in all, 8 times the limit): more than the socket buffers
            // on both ends hold.
            let blob = try JSONCoding.encodeString(JSONValue.string(String(repeating: "x", count: 16_384)))
            for _ in 0..<16 {
                try await components.database.transaction { tx in
                    try await PersonaEventRepository().append(Array(repeating: (persona, "test.blob", "{\"blob\":\(blob)}"), count: 128),
                                                              now: Date(), on: tx)
                }
            }
            var received = 0
            while received < 2048, await fast.next(timeout: .seconds(30), where: isEvent("persona:\(persona)")) != nil { received += 1 }
            #expect(received == 2048, "the reading client got every event")
            var dropped = false
            for _ in 0..<150 where !dropped {
                try await Task.sleep(for: .milliseconds(100))
                dropped = components.hub.connectionCount == 1
            }
            #expect(dropped, "the slow socket is still open")
            let metrics = try await api.get("/metrics").body
            #expect(metrics.contains("persona_ws_dropped_total 1"))
        }
    }

    @Test("two control planes on one PostgreSQL: a socket on the replica gets the primary's events and closes on logout there")
    func replicas() async throws {
        try await TestApp.run(.postgres, setup: .live, configure: { $0.events.revalidateInterval = .milliseconds(200) }) { api, components in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Shared"]).data?["id"]?.stringValue)
            try await TestApp.replica(of: components) { replica, _ in
                let socket = try connect(replica, token: admin)
                defer { socket.finish() }
                #expect(await socket.next()?["type"] == "ready")
                socket.send(["type": "subscribe", "topic": .string("persona:\(persona)")])
                #expect(await socket.next()?["type"] == "subscribed")
                try await append(components, persona: persona, type: "test.primary", data: ["from": "primary"])
                let frame = await socket.next(where: isEvent("persona:\(persona)"))
                #expect(frame?["data"]?["from"] == "primary")
                #expect(try await api.post("/api/auth/logout", token: admin).status == .noContent)
                #expect(try await socket.closeFrame()?.closeCode == .unknown(4401))
            }
        }
    }
}
