import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import PersonaKit
import Synchronization

/// A real WebSocket client of `/api/ws` (swift-websocket's WSClient) for tests and benchmarks:
/// frames arrive decoded in ``frames``; ``send(_:)`` writes one; ``finish()`` closes.
public final class EventSocketClient: Sendable {
    private struct Received {
        var frames: [JSONValue] = []
        var read = 0
        var ended = false
    }

    private final class Inbox: Sendable {
        let state = Mutex(Received())
        func withLock<T>(_ body: (inout Received) -> T) -> T { state.withLock { body(&$0) } }
    }

    private let inbox: Inbox
    private let outgoing: AsyncStream<String>.Continuation
    /// Ends when the socket does: the server's close frame (code and reason), if any.
    public let closed: Task<WebSocketCloseFrame?, any Error>

    /// Connects to `ws://127.0.0.1:<port>/api/ws`.
    /// - Parameters:
    ///   - protocols: the `Sec-WebSocket-Protocol` values offered (e.g. `persona.v1`, `bearer.<token>`).
    ///   - readDelay: waits this long before reading anything (a slow client).
    public init(port: Int, protocols: [String] = [], readDelay: Duration? = nil) {
        let (outgoingStream, outgoing) = AsyncStream<String>.makeStream()
        let inbox = Inbox()
        self.inbox = inbox
        self.outgoing = outgoing
        var headers = HTTPFields()
        if !protocols.isEmpty { headers[.secWebSocketProtocol] = protocols.joined(separator: ", ") }
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
        var logger = Logger(label: "ws-test-client")
        logger.logLevel = .critical
        closed = Task {
            defer { inbox.withLock { $0.ended = true } }
            return try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/ws", configuration: configuration,
                                                     logger: logger) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        if let readDelay { try await Task.sleep(for: readDelay) }
                        for try await message in inbound.messages(maxSize: 1 << 24) {
                            guard case .text(let text) = message,
                                  let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { continue }
                            inbox.withLock { $0.frames.append(value) }
                        }
                    }
                    group.addTask {
                        for await text in outgoingStream { try await outbound.write(.text(text)) }
                    }
                    // Either side ending (the server closed, or finish()) ends the socket.
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// Sends one JSON text frame.
    public func send(_ value: JSONValue) {
        outgoing.yield(String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self))
    }

    /// Sends a raw text frame.
    public func send(text: String) {
        outgoing.yield(text)
    }

    /// Closes the socket from this side.
    public func finish() {
        outgoing.finish()
    }

    /// The server's close frame once the socket ends; throws when it has not ended within
    /// `timeout` (a test must not hang on a socket that stays open).
    public func closeFrame(timeout: Duration = .seconds(15)) async throws -> WebSocketCloseFrame? {
        let closed = self.closed
        return try await withThrowingTaskGroup(of: WebSocketCloseFrame??.self) { group in
            group.addTask { .some(try await closed.value) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .none
            }
            defer { group.cancelAll() }
            guard case .some(let frame) = try await group.next() ?? nil else {
                throw TestSetupError("the WebSocket did not close within \(timeout)")
            }
            return frame
        }
    }

    /// Every frame received so far.
    public var received: [JSONValue] { inbox.withLock { $0.frames } }

    /// The next unread frame matching `predicate` (unread frames before it are skipped);
    /// `nil` when the socket ended or `timeout` passed first.
    public func next(timeout: Duration = .seconds(10), where predicate: (JSONValue) -> Bool = { _ in true }) async -> JSONValue? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (found, ended) = inbox.withLock { inbox -> (JSONValue?, Bool) in
                while inbox.read < inbox.frames.count {
                    let frame = inbox.frames[inbox.read]
                    inbox.read += 1
                    if predicate(frame) { return (frame, false) }
                }
                return (nil, inbox.ended)
            }
            if let found { return found }
            if ended { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}
