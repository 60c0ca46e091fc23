import ArgumentParser
import AsyncHTTPClient
import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import PersonaKit
import PersonaStorage
import Synchronization

/// `persona-bench events`: one run's events fanned out to many subscribers of a running
/// control plane, over WebSocket (`/api/ws`) and, as the baseline, over the SSE stream
/// (`/api/runs/{id}/events`, one poll of the table per client every 100 ms). Events are
/// appended to `run_events` directly (the configured database, the server's own), each
/// carrying its wall-clock send time; every client records when each arrived.
struct EventsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Benchmark live event fan-out (WebSocket and SSE) from a running control plane; prints JSON.")
    @OptionGroup var common: CommonOptions
    @Option(help: "The server's port on 127.0.0.1.") var port: Int
    @Option(help: "An access token.") var token: String
    @Option(help: "A run that stays running for the whole benchmark.") var run: String
    @Option(help: "Subscribers per transport.") var subscribers = 500
    @Option(help: "Events sent per transport.") var events = 200
    @Option(help: "Milliseconds between events.") var intervalMs = 20
    @Option(help: "Transports, comma-separated: ws, sse.") var transports = "ws,sse"

    /// Receive times of the bench's events, per client.
    final class Latencies: Sendable {
        let samples = Mutex<[Double]>([])
        let ready = Atomic<Int>(0)
        /// Events sent before this phase (an SSE client replays the run's whole log) are not counted.
        let since: Double

        init(since: Double) {
            self.since = since
        }

        func record(_ text: Substring) {
            // `"sentAt":<seconds>` inside the event's data.
            guard let range = text.range(of: "\"sentAt\":") else { return }
            let rest = text[range.upperBound...]
            let number = rest.prefix { $0.isNumber || $0 == "." || $0 == "e" || $0 == "-" }
            guard let sent = Double(number), sent >= since else { return }
            let latency = (Date().timeIntervalSince1970 - sent) * 1000
            samples.withLock { $0.append(latency) }
        }
    }

    struct Figures: Encodable {
        var transport: String
        var subscribers: Int
        var events: Int
        var deliveries: Int
        var expected: Int
        var p50Ms: Double
        var p95Ms: Double
        var p99Ms: Double
        var maxMs: Double
        var connectSeconds: Double
    }

    func run() async throws {
        let (configuration, logger) = try common.load()
        var results: [Figures] = []
        try await Database.with(configuration: configuration, logger: logger) { database in
            for transport in transports.split(separator: ",").map(String.init) {
                results.append(try await measure(transport, database: database))
            }
        }
        try printJSONLine(results)
    }

    func measure(_ transport: String, database: Database) async throws -> Figures {
        let latencies = Latencies(since: Date().timeIntervalSince1970)
        let started = ContinuousClock.now
        let clients = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<subscribers {
                    group.addTask {
                        if transport == "ws" { try await webSocket(latencies) } else { try await serverSentEvents(latencies) }
                    }
                }
                try await group.waitForAll()
            }
        }
        while latencies.ready.load(ordering: .relaxed) < subscribers {
            try await Task.sleep(for: .milliseconds(20))
            if ContinuousClock.now - started > .seconds(120) { throw ValidationError("only \(latencies.ready.load(ordering: .relaxed)) subscribers connected") }
        }
        let connected = ContinuousClock.now - started
        // Let the SSE clients finish their replay of the run so far.
        try await Task.sleep(for: .seconds(1))
        let repository = RunRepository()
        for n in 0..<events {
            try await database.withConnection { db in
                try await repository.appendEvent(runId: run, type: "bench.tick",
                                                 data: ["n": .number(Double(n)), "sentAt": .number(Date().timeIntervalSince1970)],
                                                 now: Date(), on: db)
            }
            try await Task.sleep(for: .milliseconds(intervalMs))
        }
        // Stragglers: up to 5 s after the last event.
        let expected = subscribers * events
        let deadline = ContinuousClock.now + .seconds(5)
        while latencies.samples.withLock({ $0.count }) < expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        clients.cancel()
        _ = await clients.result
        let samples = latencies.samples.withLock { $0 }.sorted()
        func pct(_ p: Double) -> Double {
            samples.isEmpty ? .nan : (samples[min(samples.count - 1, Int((p * Double(samples.count - 1)).rounded()))] * 10).rounded() / 10
        }
        return Figures(transport: transport, subscribers: subscribers, events: events, deliveries: samples.count, expected: expected,
                       p50Ms: pct(0.5), p95Ms: pct(0.95), p99Ms: pct(0.99), maxMs: pct(1.0),
                       connectSeconds: Double(connected.components.seconds) + Double(connected.components.attoseconds) / 1e18)
    }

    func webSocket(_ latencies: Latencies) async throws {
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = "persona.v1, bearer.\(token)"
        var logger = Logger(label: "bench-ws")
        logger.logLevel = .critical
        let topic = "run:\(run)"
        _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/ws",
                                              configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers),
                                              logger: logger) { inbound, outbound, _ in
            try await outbound.write(.text("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}"))
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                if text.contains("\"type\":\"subscribed\"") {
                    latencies.ready.add(1, ordering: .relaxed)
                } else if text.contains("\"event\":\"bench.tick\"") {
                    latencies.record(text[...])
                }
            }
        }
    }

    func serverSentEvents(_ latencies: Latencies) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/runs/\(run)/events")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await SSEClients.shared.execute(request, timeout: .seconds(600))
        guard response.status == .ok else { throw ValidationError("SSE answered \(response.status)") }
        latencies.ready.add(1, ordering: .relaxed)
        var pending = ""
        for try await buffer in response.body {
            pending += String(buffer: buffer)
            while let end = pending.range(of: "\n\n") {
                let block = pending[..<end.lowerBound]
                if block.contains("event: bench.tick") { latencies.record(block) }
                pending.removeSubrange(..<end.upperBound)
            }
        }
    }
}

/// One HTTP client for the SSE subscribers, with room for all of them at once.
enum SSEClients {
    static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4096
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
