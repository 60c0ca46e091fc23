import Foundation
import PersonaKit
import Testing
@testable import Supervisor

@Suite("Outbox: durable, ordered reports")
struct OutboxTests {
    @Test("sequence numbers only grow and acknowledged entries leave")
    func ordering() throws {
        let dir = try Fixtures.temporaryDirectory("ob")
        defer { Fixtures.remove(dir) }
        let db = try SupervisorStore.open(path: dir + "/s.db")
        defer { db.close() }
        let outbox = Outbox(db: db)
        let a = try outbox.enqueue(path: "/a", body: [1])
        let b = try outbox.enqueue(path: "/b", body: [2])
        #expect(b > a)
        try outbox.acknowledge(through: b)
        let c = try outbox.enqueue(path: "/c", body: [3])
        #expect(c > b, "AUTOINCREMENT never reuses a sequence")
        #expect(try outbox.peek(limit: 10).map(\.path) == ["/c"])
        #expect(try outbox.depth() == 1)
    }

    @Test("reports queued while the control plane is down are delivered in order once it is back, and survive a restart")
    func deliveredInOrderAfterOutage() async throws {
        let dir = try Fixtures.temporaryDirectory("ob")
        defer { Fixtures.remove(dir) }
        let socket = dir + "/cp.sock"
        var db = try SupervisorStore.open(path: dir + "/s.db")
        var reporter = ControlPlaneReporter(endpoint: .unixSocket(socket), token: "t0k", outbox: Outbox(db: db), logger: Fixtures.logger)
        reporter.enqueue(SupervisorRoutes.register, RegisterRequest(personaId: "p", bootId: "b", version: "v", startedAt: Date(), tools: []))
        for index in 0..<5 {
            reporter.record(InvocationEvent(personaId: "p", bootId: "b", kind: .started, invocationId: "inv-\(index)", tool: "shell",
                                            idempotencyKey: nil, traceparent: TraceContext.newRoot().traceparent, at: Date()))
        }
        #expect(await reporter.deliverOnce() == .failed)
        #expect(try Outbox(db: db).depth() == 6)
        // A supervisor restart: the same database, a new reporter.
        db.close()
        db = try SupervisorStore.open(path: dir + "/s.db")
        defer { db.close() }
        reporter = ControlPlaneReporter(endpoint: .unixSocket(socket), token: "t0k", outbox: Outbox(db: db), logger: Fixtures.logger)
        let controlPlane = FakeControlPlane(socketPath: socket)
        try await controlPlane.start()
        defer { controlPlane.stop() }
        #expect(await reporter.deliverOnce() == .delivered)
        #expect(await reporter.deliverOnce() == .delivered)
        #expect(await reporter.deliverOnce() == .idle)
        #expect(reporter.isRegistered)
        let requests = controlPlane.requests
        #expect(requests.map(\.path) == [SupervisorRoutes.register, SupervisorRoutes.events])
        #expect(requests.allSatisfy { $0.authorization == "Bearer t0k" && $0.traceparent != nil })
        let events = controlPlane.events
        #expect(events.map(\.invocationId) == (0..<5).map { "inv-\($0)" })
        #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
        #expect(Set(events.map(\.sequence)).count == 5)
    }
}
