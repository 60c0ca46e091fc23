import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOWebSocket
import PersonaKit
import PersonaStorage
import ServiceLifecycle
import Synchronization

/// `GET /api/ws`: the live event stream over WebSocket, the same events and ids as the runs'
/// SSE stream plus the persona and alert events.
///
/// Authentication never uses the query string (it lands in access logs): either the
/// subprotocols `persona.v1, bearer.<access token>` (the server selects `persona.v1`), or a
/// first message `{"type":"auth","token":"..."}` within ``EventSettings/authTimeout``. Then:
/// - `{"type":"subscribe","topic":"run:<id>"|"persona:<id>"|"alerts","lastEventId":N}`:
///   access is checked per subscription (viewer on the persona or the run's persona; `alerts`
///   shows the personas the user can see); `lastEventId` replays the stored events after it
///   (a run's topic replays from the start without it, as SSE does);
/// - `{"type":"unsubscribe","topic":...}`, `{"type":"ping"}`.
/// The server sends `ready`, `subscribed`, `event`, `end` (a run finished), `unsubscribed`,
/// `pong` and `error` frames. Close codes: 4401 (no valid token, or the session ended: logout,
/// revocation, expiry), 4008 (the client read too slowly: its queue passed
/// ``EventSettings/queueLimit``), 1001 (server shutting down).
struct EventSocketController: Sendable {
    typealias Context = BasicWebSocketRequestContext
    let database: Database
    let auth: AuthService
    let hub: EventHub
    let settings: EventSettings
    let personas = PersonaRepository()
    let runs = RunRepository()
    let events = PersonaEventRepository()

    static let subprotocol = "persona.v1"

    func addRoutes(to router: Router<Context>) {
        router.ws("api/ws") { request, _ in
            let offered = Self.offeredProtocols(request.headers)
            guard offered.contains(Self.subprotocol) else { return .upgrade([:]) }
            return .upgrade([.secWebSocketProtocol: Self.subprotocol])
        } onUpgrade: { inbound, outbound, context in
            try await serve(inbound: inbound, outbound: outbound, request: context.request, logger: context.logger)
        }
    }

    /// Why a socket ends.
    enum Ending: Error {
        case clientClosed, unauthorized(String), tooSlow, shutdown

        var close: (code: WebSocketErrorCode, reason: String)? {
            switch self {
            case .clientClosed: nil
            case .unauthorized(let reason): (.unknown(4401), reason)
            case .tooSlow: (.unknown(4008), "client too slow: more than the queue limit of events waiting")
            case .shutdown: (.goingAway, "server shutting down")
            }
        }
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, logger: Logger) async throws {
        let sink = await hub.add(limit: settings.queueLimit)
        defer { hub.remove(sink) }
        let session = SocketSession()
        var ending = Ending.clientClosed
        do {
            if let token = Self.offeredProtocols(request.headers).first(where: { $0.hasPrefix("bearer.") }) {
                try await session.start(token: String(token.dropFirst(7)), sink: sink, controller: self)
            }
            ending = try await withThrowingTaskGroup(of: Ending.self) { group in
                group.addTask { try await read(inbound, session: session, sink: sink) }
                group.addTask { try await write(sink, outbound: outbound) }
                group.addTask { try await watch(sink, session: session) }
                // Shutdown closes the socket (1001) without waiting for a client that may not
                // answer the library's own close frame.
                group.addTask {
                    try await gracefulShutdown()
                    return .shutdown
                }
                defer { group.cancelAll() }
                return try await group.next() ?? .clientClosed
            }
        } catch let end as Ending {
            ending = end
        }
        if case .tooSlow = ending { hub.dropped.increment() }
        guard let close = ending.close else { return }
        logger.info("websocket closed", metadata: ["code": "\(close.code)", "reason": "\(close.reason)"])
        // Bounded: a client that stopped reading cannot take the close frame either.
        try? await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await outbound.close(close.code, reason: close.reason) }
            group.addTask { try await Task.sleep(for: .seconds(2)) }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// The user behind a token, or the ending that refuses it.
    func authenticate(token: String) async throws -> AuthenticatedUser {
        guard let user = try await auth.authenticate(bearer: token) else {
            throw Ending.unauthorized("access token is invalid, expired or revoked")
        }
        return user
    }

    func visibleIds(_ user: AuthenticatedUser) async throws -> Set<String>? {
        try await database.withConnection { try await personas.visibleIds(user: user, on: $0) }
    }

    private func read(_ inbound: WebSocketInboundStream, session: SocketSession, sink: EventSink) async throws -> Ending {
        var messages = inbound.messages(maxSize: 65_536).makeAsyncIterator()
        while let message = try await messages.next() {
            guard case .text(let text) = message, let body = try? JSONCoding.decode(ClientMessage.self, from: text) else {
                guard session.user != nil else { throw Ending.unauthorized("the first message must be {\"type\":\"auth\",\"token\":...}") }
                sink.send(Self.error("bad_message", "Send JSON text frames: {\"type\":\"subscribe\",\"topic\":...}", topic: nil))
                continue
            }
            guard let user = session.user else {
                guard body.type == "auth", let token = body.token else {
                    throw Ending.unauthorized("the first message must be {\"type\":\"auth\",\"token\":...}")
                }
                try await session.start(token: token, sink: sink, controller: self)
                continue
            }
            switch body.type {
            case "subscribe": await subscribe(body, user: user, sink: sink)
            case "unsubscribe":
                if let topic = body.topic.flatMap(EventTopic.init) {
                    sink.unsubscribe(topic)
                    sink.send(Self.reply(["type": "unsubscribed", "topic": .string(topic.name)]))
                }
            case "ping": sink.send(Self.reply(["type": "pong"]))
            case "auth": sink.send(Self.error("already_authenticated", "This socket is authenticated", topic: nil))
            default: sink.send(Self.error("bad_message", "Unknown message type \(body.type)", topic: nil))
            }
        }
        return .clientClosed
    }

    private func subscribe(_ body: ClientMessage, user: AuthenticatedUser, sink: EventSink) async {
        guard let name = body.topic, let topic = EventTopic(name) else {
            return sink.send(Self.error("bad_topic", "topic must be run:<id>, persona:<id> or alerts", topic: body.topic))
        }
        guard sink.subscriptionCount < settings.maxSubscriptions else {
            return sink.send(Self.error("too_many_subscriptions", "At most \(settings.maxSubscriptions) subscriptions per socket", topic: name))
        }
        do {
            guard try await canSee(topic, user: user) else {
                // Invisible and missing look the same, as in the REST routes.
                return sink.send(Self.error("not_found", "No such \(topic.table == .runs ? "run" : "persona") visible to you", topic: name))
            }
        } catch {
            return sink.send(Self.error("internal", "The subscription could not be checked", topic: name))
        }
        // A run's topic replays its whole log without a lastEventId, as SSE does.
        let replay = body.lastEventId ?? (topic.table == .runs ? 0 : nil)
        guard sink.subscribe(topic, replayAfter: replay) else {
            return sink.send(Self.error("already_subscribed", "Already subscribed to \(name)", topic: name))
        }
        sink.send(Self.reply(["type": "subscribed", "topic": .string(name)]))
    }

    private func canSee(_ topic: EventTopic, user: AuthenticatedUser) async throws -> Bool {
        try await database.withConnection { db in
            switch topic {
            case .alerts: return true
            case .persona(let id): return try await personas.access(personaId: id, user: user, on: db) != nil
            case .run(let id):
                guard let run = try await runs.find(id: id, on: db) else { return false }
                return try await personas.access(personaId: run.personaId, user: user, on: db) != nil
            }
        }
    }

    private func write(_ sink: EventSink, outbound: WebSocketOutboundWriter) async throws -> Ending {
        while true {
            switch await sink.next() {
            case .frames(let frames):
                for frame in frames {
                    try await outbound.write(.text(frame))
                    sink.wrote()
                }
            case .replay(let topic, let after):
                try await replay(topic, after: after, sink: sink, outbound: outbound)
            case .closed:
                return sink.isDropped ? .tooSlow : .shutdown
            }
        }
    }

    /// Sends the stored events of `topic` after `after` straight to the socket (with the
    /// socket's own backpressure), then lets the held live events through.
    private func replay(_ topic: EventTopic, after: Int, sink: EventSink, outbound: WebSocketOutboundWriter) async throws {
        var cursor = after
        var sent = Set<Int>()
        while true {
            let from = cursor
            let batch = try await database.withConnection { db -> [StoredEvent] in
                switch topic {
                case .run(let id): try await events.events(runId: id, after: from, limit: 500, on: db)
                case .persona(let id): try await events.events(personaId: id, after: from, limit: 500, on: db)
                case .alerts: try await events.events(typePrefix: "alert.", after: from, limit: 500, on: db)
                }
            }
            for event in batch {
                cursor = event.seq
                guard EventSink.topics(of: event, table: topic.table, visible: sink.visible).contains(topic) else { continue }
                try await outbound.write(.text(EventSink.frame(event, topic: topic)))
                sent.insert(event.seq)
                if EventSink.endsRun(event, table: topic.table) {
                    sink.unsubscribe(topic)
                    try await outbound.write(.text(EventSink.endFrame(topic)))
                    return
                }
            }
            if batch.count < 500 { break }
        }
        sink.finishReplay(topic, sent: sent)
    }

    /// Refuses a socket that has not authenticated within ``EventSettings/authTimeout``, then
    /// checks the session every ``EventSettings/revalidateInterval`` (logout, revocation and
    /// expiry close the socket) and, every fifth time, what the user may still see.
    private func watch(_ sink: EventSink, session: SocketSession) async throws -> Ending {
        let deadline = ContinuousClock.now + settings.authTimeout
        while session.user == nil {
            guard ContinuousClock.now < deadline else { return .unauthorized("authentication timed out") }
            try await Task.sleep(for: .milliseconds(50))
        }
        var ticks = 0
        while true {
            try await Task.sleep(for: min(settings.revalidateInterval, settings.stallTimeout))
            if sink.checkStall() { return .tooSlow }
            guard let (user, token) = session.current, try await auth.authenticate(bearer: token) != nil else {
                return .unauthorized("session ended")
            }
            ticks += 1
            guard ticks % 5 == 0 else { continue }
            sink.setVisible(try await visibleIds(user))
            for topic in sink.topics where try await !canSee(topic, user: user) {
                sink.unsubscribe(topic)
                sink.send(Self.reply(["type": "unsubscribed", "topic": .string(topic.name), "reason": "forbidden"]))
            }
        }
    }

    struct ClientMessage: Decodable {
        var type: String
        var token: String?
        var topic: String?
        var lastEventId: Int?
    }

    static func offeredProtocols(_ headers: HTTPFields) -> [String] {
        headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func reply(_ value: JSONValue) -> String {
        (try? JSONCoding.encodeString(value)) ?? "{}"
    }

    static func error(_ code: String, _ message: String, topic: String?) -> String {
        reply(["type": "error", "code": .string(code), "error": .string(message), "topic": topic.map { .string($0) } ?? .null])
    }
}

/// Who a socket acts for, once authenticated.
final class SocketSession: Sendable {
    private let state = Mutex<(AuthenticatedUser, String)?>(nil)

    var user: AuthenticatedUser? { state.withLock { $0?.0 } }
    var current: (AuthenticatedUser, String)? { state.withLock { $0 } }

    /// Authenticates `token`, loads what the user may see and greets the client.
    func start(token: String, sink: EventSink, controller: EventSocketController) async throws {
        let user = try await controller.authenticate(token: token)
        sink.setVisible(try await controller.visibleIds(user))
        state.withLock { $0 = (user, token) }
        sink.send(EventSocketController.reply(["type": "ready", "userId": .string(user.id)]))
    }
}
