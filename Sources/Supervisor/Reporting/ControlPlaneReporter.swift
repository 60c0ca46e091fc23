#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOHTTP1
import PersonaKit
import Synchronization
import PersonaCore

/// Reports to the control plane's internal API (`/internal/v1/supervisors/...`) with the
/// container token and `traceparent`:
/// - registration and invocation events go through the SQLite ``Outbox`` and are delivered
///   strictly in order (head of line: a report is retried until acknowledged, so nothing
///   overtakes it); a 4xx other than 401/408/429 means the control plane will never accept
///   it, so it is logged and dropped rather than blocking the queue forever;
/// - heartbeats are sent directly and dropped on failure (a stale heartbeat means nothing);
/// - secrets are fetched at start and re-fetched until that succeeds.
public final class ControlPlaneReporter: Sendable {
    let endpoint: ControlPlaneEndpoint
    let token: String
    let outbox: Outbox
    let client: SimpleHTTPClient
    let logger: Logger
    let wakeup = Wakeup()
    private let state = Mutex<(registered: Bool, lastError: String?, heartbeatInterval: Duration?)>((false, nil, nil))

    public init(endpoint: ControlPlaneEndpoint, token: String, outbox: Outbox, client: SimpleHTTPClient = SimpleHTTPClient(), logger: Logger) {
        self.endpoint = endpoint
        self.token = token
        self.outbox = outbox
        self.client = client
        self.logger = logger
    }

    /// Whether this boot's registration was acknowledged.
    public var isRegistered: Bool { state.withLock { $0.registered } }

    /// How long a first event waits for the ones that follow it before it is sent.
    static let eventCoalescing: Duration = .milliseconds(20)

    /// Queues a report; the delivery loop sends it in order.
    public func enqueue<Body: Encodable>(_ path: String, _ body: Body) {
        do {
            let bytes = Array(try Self.encoder.encode(body))
            try outbox.enqueue(path: path, body: bytes)
            wakeup.signal()
        } catch {
            logger.error("could not queue a report", metadata: ["path": "\(path)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Queues an invocation event.
    public func record(_ event: InvocationEvent) {
        enqueue(SupervisorRoutes.events, event)
    }

    /// Delivers the outbox until cancelled, backing off from 250 ms to 15 s while the control
    /// plane is unreachable.
    public func runDelivery() async {
        var backoff: Duration = .milliseconds(250)
        while !Task.isCancelled {
            switch await deliverOnce() {
            case .idle:
                backoff = .milliseconds(250)
                await wakeup.wait(upTo: .seconds(5))
                // A tool call's `started` and `finished` (and a burst of calls) travel in one
                // request instead of one each: the control plane is not handed work while it
                // answers the very call the events describe. Registration is never held back.
                if (try? outbox.peek(limit: 1).first?.path) == SupervisorRoutes.events {
                    try? await Task.sleep(for: Self.eventCoalescing)
                }
            case .delivered:
                backoff = .milliseconds(250)
            case .failed:
                await wakeup.wait(upTo: backoff)
                backoff = min(backoff * 2, .seconds(15))
            }
        }
    }

    enum DeliveryOutcome { case idle, delivered, failed }

    /// Sends the head of the outbox (events batched, up to 50 consecutive ones).
    func deliverOnce() async -> DeliveryOutcome {
        let entries: [Outbox.Entry]
        do { entries = try outbox.peek(limit: 50) } catch {
            logger.error("outbox unreadable", metadata: ["error": "\(String(reflecting: error))"])
            return .failed
        }
        guard let head = entries.first else { return .idle }
        var batch = [head]
        var body = head.body
        if head.path == SupervisorRoutes.events {
            batch = Array(entries.prefix { $0.path == SupervisorRoutes.events })
            var events: [InvocationEvent] = []
            for entry in batch {
                guard var event = try? SupervisorJSON.decoder.decode(InvocationEvent.self, from: Data(entry.body)) else { continue }
                event.sequence = entry.sequence
                events.append(event)
            }
            body = (try? Array(Self.encoder.encode(SupervisorEventBatch(events: events)))) ?? []
        }
        let last = batch[batch.count - 1].sequence
        do {
            let response = try await send(.POST, head.path, body: body)
            if (200..<300).contains(response.status) {
                try? outbox.acknowledge(through: last)
                if head.path == SupervisorRoutes.register {
                    let answer = try? SupervisorJSON.decoder.decode(RegisterResponse.self, from: Data(response.body))
                    state.withLock {
                        $0.registered = true
                        $0.heartbeatInterval = answer?.heartbeatIntervalSeconds.map { .seconds(max(1, $0)) }
                    }
                    logger.info("registered with the control plane", metadata: ["endpoint": "\(endpoint)"])
                }
                state.withLock { $0.lastError = nil }
                return .delivered
            }
            if (400..<500).contains(response.status) && ![401, 408, 429].contains(response.status) {
                logger.error("control plane refused a report; dropped", metadata: [
                    "path": "\(head.path)", "status": "\(response.status)", "sequence": "\(last)"])
                try? outbox.acknowledge(through: last)
                return .delivered
            }
            noteFailure("HTTP \(response.status)", sequence: head.sequence)
        } catch {
            noteFailure(error.code, sequence: head.sequence)
        }
        return .failed
    }

    private func noteFailure(_ reason: String, sequence: Int64) {
        try? outbox.recordAttempt(sequence)
        let first = state.withLock { state -> Bool in
            defer { state.lastError = reason }
            return state.lastError != reason
        }
        if first {
            logger.warning("control plane unreachable; reports wait in the outbox", metadata: ["reason": "\(reason)", "endpoint": "\(endpoint)"])
        }
    }

    /// Sends heartbeats every `interval` (or what registration asked for) until cancelled.
    public func runHeartbeats(interval: Duration, make: @Sendable () async -> Heartbeat) async {
        while !Task.isCancelled {
            let wait = state.withLock { $0.heartbeatInterval } ?? interval
            try? await Task.sleep(for: wait)
            if Task.isCancelled { return }
            guard isRegistered, let body = try? Array(Self.encoder.encode(await make())) else { continue }
            _ = try? await send(.POST, SupervisorRoutes.heartbeat, body: body, timeout: .seconds(3))
        }
    }

    /// Fetches the persona's secrets into `store`, retrying with backoff until it works or
    /// the task is cancelled.
    /// One fetch of the persona's secrets (a tool that declares secrets asks before it starts).
    public func fetchSecrets(timeout: Duration = .seconds(5)) async -> SecretsResponse? {
        guard let response = try? await send(.GET, SupervisorRoutes.secrets, body: nil, timeout: timeout), response.status == 200
        else { return nil }
        return try? SupervisorJSON.decoder.decode(SecretsResponse.self, from: Data(response.body))
    }

    public func loadSecrets(into store: SecretStore) async {
        var backoff: Duration = .milliseconds(500)
        while !Task.isCancelled {
            if let response = try? await send(.GET, SupervisorRoutes.secrets, body: nil), response.status == 200,
               let secrets = try? SupervisorJSON.decoder.decode(SecretsResponse.self, from: Data(response.body)) {
                store.replace(with: secrets.secrets, vncPassword: secrets.vncPassword)
                logger.info("secrets loaded", metadata: ["count": "\(secrets.secrets.count)"])
                return
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?, timeout: Duration = .seconds(10)) async throws(SupervisorError) -> SimpleHTTPClient.Response {
        try await ControlPlaneChannel(endpoint: endpoint, token: token, client: client).send(method, path, body: body, timeout: timeout)
    }

    static var encoder: JSONEncoder { SupervisorJSON.encoder }
}
