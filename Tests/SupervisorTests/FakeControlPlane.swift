import Foundation
import NIOHTTP1
import PersonaKit
import Synchronization
@testable import Supervisor

/// A real HTTP server on a unix socket standing in for the control plane's internal API:
/// records every request, answers secrets, serves a scripted memory change log and query
/// embeddings (``FakeMemoryLog``), and can be started late or stopped (to test the outbox and
/// the memory cache's fallbacks).
final class FakeControlPlane: Sendable {
    struct Received: Sendable {
        var method: String
        var path: String
        var authorization: String?
        var traceparent: String?
        var body: [UInt8]
    }

    let socketPath: String
    let secrets: [String: String]
    /// The persona's memory as the control plane would serve it; tests script it.
    let memory = FakeMemoryLog()
    private let received = Mutex<[Received]>([])
    private let server = Mutex<SupervisorHTTPServer.BoundServer?>(nil)

    init(socketPath: String, secrets: [String: String] = [:]) {
        self.socketPath = socketPath
        self.secrets = secrets
    }

    var requests: [Received] { received.withLock { $0 } }

    /// Every event delivered so far, in delivery order.
    var events: [InvocationEvent] {
        requests.filter { $0.path == SupervisorRoutes.events }.flatMap { request in
            (try? SupervisorJSON.decoder.decode(SupervisorEventBatch.self, from: Data(request.body)).events) ?? []
        }
    }

    func start() async throws {
        let http = SupervisorHTTPServer(logger: Fixtures.logger) { [self] request in
            received.withLock {
                $0.append(Received(method: request.method.rawValue, path: request.path,
                                   authorization: request.headers.first(name: "authorization"),
                                   traceparent: request.headers.first(name: "traceparent"), body: request.body))
            }
            if let answer = memory.answer(request) { return answer }
            if request.path == SupervisorRoutes.secrets {
                let body = try! SupervisorJSON.encoder.encode(SecretsResponse(secrets: secrets))
                return APIResponse(status: .ok, headers: [("Content-Type", "application/json")], body: Array(body))
            }
            if request.path == SupervisorRoutes.register {
                return APIResponse(status: .ok, body: Array(#"{"heartbeatIntervalSeconds": 1}"#.utf8))
            }
            return APIResponse(status: .noContent)
        }
        let bound = try await http.bindUnixSocket(socketPath)
        server.withLock { $0 = bound }
        Task { await http.serve(bound) }
    }

    func stop() {
        server.withLock { $0?.close() }
        unlink(socketPath)
    }
}
