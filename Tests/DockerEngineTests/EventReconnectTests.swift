import DockerEngine
import Testing

@Suite("event stream recovery, against a scripted engine")
struct EventReconnectTests {
    private static func event(_ action: String, _ id: String, _ timeNano: Int64) -> String {
        #"{"Type":"container","Action":"\#(action)","Actor":{"ID":"\#(id)","Attributes":{"name":"c"}},"scope":"local","time":\#(timeNano / 1_000_000_000),"timeNano":\#(timeNano)}"# + "\n"
    }

    private static let fast = Docker.ReconnectPolicy(initialDelay: .milliseconds(10), maximumDelay: .milliseconds(50), maximumAttempts: 3)

    @Test("a dropped stream resumes from the last event, says so, and repeats nothing")
    func resumes() async throws {
        let first = Self.event("create", "a", 1_700_000_000_000_000_005)
        let second = Self.event("start", "a", 1_700_000_000_000_000_005)
        let third = Self.event("die", "a", 1_700_000_000_900_000_000)
        let scripted = try await StubEngine.start { index, _ in
            switch index {
            // The first connection delivers two events, the second cut in two reads, then drops.
            case 0: .stream([first, String(second.prefix(20)), String(second.dropFirst(20))], close: true)
            // The engine's since is inclusive: the resume replays `second` before `third`.
            case 1: .stream([second, third], close: false)
            default: .drop
            }
        }
        let client = try Docker.Client(endpoint: .unixSocket(path: scripted.socketPath), apiVersion: .minimum)
        do {
            var seen: [String] = []
            for try await element in try await client.events(reconnect: Self.fast) {
                switch element {
                case .event(let event): seen.append(event.action)
                case .resumed(let error): seen.append("resumed(\(error.code))")
                }
                if seen.count == 4 { break }
            }
            #expect(seen == ["create", "start", "resumed(engineUnreachable)", "die"])
            let uris = scripted.receivedURIs
            #expect(uris.count == 2)
            #expect(uris.first == "/v1.41/events")
            #expect(uris.last == "/v1.41/events?since=1700000000.000000005")
        } catch {
            try? await client.shutdown()
            try? await scripted.stop()
            throw error
        }
        try await client.shutdown()
        try await scripted.stop()
    }

    @Test("a stream dropped before any event resumes from the engine's clock at subscription time")
    func resumesFromSubscriptionTime() async throws {
        let engine = try await StubEngine.start { index, _ in
            switch index {
            case 0: .stream([], close: true)
            case 1: .stream([Self.event("create", "c", 1_700_000_000_500_000_000)], close: false)
            default: .drop
            }
        }
        let client = try Docker.Client(endpoint: .unixSocket(path: engine.socketPath), apiVersion: .minimum)
        var seen: [String] = []
        for try await element in try await client.events(filters: .label("k", "v"), reconnect: Self.fast) {
            if case .event(let event) = element {
                seen.append(event.action)
                break
            }
            seen.append("resumed")
        }
        #expect(seen == ["resumed", "create"])
        // The stub's Date header is 1700000000 (Tue, 14 Nov 2023 22:13:20 GMT).
        #expect(engine.receivedURIs.last == "/v1.41/events?filters=%7B%22label%22:%5B%22k%3Dv%22%5D%7D&since=1700000000.000000000")
        try await client.shutdown()
        try await engine.stop()
    }

    @Test("an engine that stays away ends the stream with engineUnreachable after the allowed attempts")
    func givesUp() async throws {
        let engine = try await StubEngine.start { index, _ in
            index == 0 ? .stream([Self.event("start", "b", 1_700_000_000_000_000_001)], close: true) : .drop
        }
        let client = try Docker.Client(endpoint: .unixSocket(path: engine.socketPath), apiVersion: .minimum)
        var seen: [String] = []
        let error = await #expect(throws: DockerError.self) {
            for try await element in try await client.events(reconnect: Self.fast) {
                if case .event(let event) = element { seen.append(event.action) }
            }
        }
        #expect(seen == ["start"])
        #expect(error?.code == .engineUnreachable)
        #expect(error?.message.contains("3 attempts") == true)
        #expect(engine.receivedURIs.count == 4, "one subscription and three attempts")
        try await client.shutdown()
        try await engine.stop()
    }

    @Test("a non-success answer carries the engine's message and status")
    func engineMessage() async throws {
        let engine = try await StubEngine.start { _, _ in .json(#"{"message":"page not found for stub"}"#, status: 500) }
        let client = try Docker.Client(endpoint: .unixSocket(path: engine.socketPath), apiVersion: .minimum)
        let error = await #expect(throws: DockerError.self) { try await client.info() }
        #expect(error?.code == .server)
        #expect(error?.statusCode == 500)
        #expect(error?.message == "page not found for stub")
        try await client.shutdown()
        try await engine.stop()
    }
}
