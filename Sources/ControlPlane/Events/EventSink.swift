import Foundation
import PersonaCore
import PersonaKit
import PersonaStorage
import Synchronization

/// A live topic: `run:{id}`, `persona:{id}` or `alerts`.
enum EventTopic: Hashable, Sendable {
    case run(String)
    case persona(String)
    case alerts

    init?(_ text: String) {
        if text == "alerts" {
            self = .alerts
        } else if text.hasPrefix("run:"), text.count > 4, text.count <= 100 {
            self = .run(String(text.dropFirst(4)))
        } else if text.hasPrefix("persona:"), text.count > 8, text.count <= 100 {
            self = .persona(String(text.dropFirst(8)))
        } else {
            return nil
        }
    }

    var name: String {
        switch self {
        case .run(let id): "run:\(id)"
        case .persona(let id): "persona:\(id)"
        case .alerts: "alerts"
        }
    }

    var table: EventTable { if case .run = self { .runs } else { .personas } }
}

/// One socket's side of the hub: its subscriptions and a bounded queue of encoded frames.
/// The hub offers every new event; the socket's writer takes frames and replay jobs. A queue
/// that stays past ``limit`` while the writer is stuck marks the sink dropped (the socket
/// closes with 4008) instead of growing.
final class EventSink: Sendable {
    struct Subscription {
        var topic: EventTopic
        /// Live events held back while the subscription's history is being replayed.
        var held: [StoredEvent]?
        /// Events the replay sent that the hub may still offer live (it reads the table on
        /// its own schedule): skipped once, forgotten when the live stream passes them.
        var replayed: Set<Int> = []
        var replayedMax = 0
    }

    /// What the writer does next.
    enum Work {
        case frames([String])
        case replay(EventTopic, after: Int)
        case closed
    }

    private struct State {
        var subscriptions: [EventTopic: Subscription] = [:]
        var replays: [(EventTopic, Int)] = []
        var queue: [String] = []
        /// Personas the `alerts` topic may show; `nil`: every persona (an admin).
        var visible: Set<String>?
        var dropped = false
        var closed = false
        /// When the writer last made progress: took the queue, or finished writing a frame.
        var drained = ContinuousClock.now
    }

    let id: Int
    let limit: Int
    let stallTimeout: Duration
    private let state = Mutex(State())
    private let waiter = Mutex(Waiter())

    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>?
        var pending = false
    }

    /// - Parameters:
    ///   - limit: frames that may wait while the writer is stuck (see ``isTooSlow``).
    ///   - stallTimeout: how long the writer may go without taking the queue while it is past `limit`.
    init(id: Int, limit: Int, stallTimeout: Duration) {
        self.id = id
        self.limit = limit
        self.stallTimeout = stallTimeout
    }

    /// Too slow: more than `limit` frames wait and the writer has not finished a frame for
    /// `stallTimeout` (it is stuck on a full socket), or more than 16 × `limit` wait at all
    /// (a hard cap on memory). A burst bigger than `limit` that the client reads is fine.
    private func isTooSlow(_ state: State, now: ContinuousClock.Instant) -> Bool {
        let backlog = state.queue.count + state.subscriptions.values.reduce(0) { $0 + ($1.held?.count ?? 0) }
        return backlog > limit * 16 || (backlog > limit && now - state.drained > stallTimeout)
    }

    /// The writer finished writing a frame: the socket is moving, however slowly.
    func wrote() {
        state.withLock { $0.drained = .now }
    }

    /// Marks the sink dropped when it is too slow; `true` when it is (now or before).
    @discardableResult
    func checkStall(now: ContinuousClock.Instant = .now) -> Bool {
        let dropped = state.withLock { state -> Bool in
            if !state.dropped, isTooSlow(state, now: now) {
                state.dropped = true
                state.queue.removeAll()
            }
            return state.dropped
        }
        if dropped { signal() }
        return dropped
    }

    var isDropped: Bool { state.withLock { $0.dropped } }
    var visible: Set<String>? { state.withLock { $0.visible } }
    var subscriptionCount: Int { state.withLock { $0.subscriptions.count } }
    var topics: [EventTopic] { state.withLock { Array($0.subscriptions.keys) } }

    func setVisible(_ visible: Set<String>?) {
        state.withLock { $0.visible = visible }
    }

    /// Subscribes; with `replayAfter` the writer first sends the stored events after it, and
    /// live events wait until that is done. Returns `false` when already subscribed.
    func subscribe(_ topic: EventTopic, replayAfter: Int?) -> Bool {
        let added = state.withLock { state -> Bool in
            guard state.subscriptions[topic] == nil else { return false }
            state.subscriptions[topic] = Subscription(topic: topic, held: replayAfter == nil ? nil : [])
            if let replayAfter { state.replays.append((topic, replayAfter)) }
            return true
        }
        if added { signal() }
        return added
    }

    func unsubscribe(_ topic: EventTopic) {
        state.withLock { _ = $0.subscriptions.removeValue(forKey: topic) }
    }

    /// Queues a frame of the socket's own (replies, errors).
    func send(_ frame: String) {
        state.withLock { $0.queue.append(frame) }
        signal()
    }

    /// A new event with its frame for each topic it belongs to, encoded once for every socket.
    struct Prepared: Sendable {
        var event: StoredEvent
        var frames: [(topic: EventTopic, frame: String)]
        /// The run's final status event.
        var endsRun: Bool

        init(_ event: StoredEvent, table: EventTable) {
            self.event = event
            frames = EventSink.topics(of: event, table: table, visible: nil).map { ($0, EventSink.frame(event, topic: $0)) }
            endsRun = EventSink.endsRun(event, table: table)
        }
    }

    /// Offers a batch of new events: frames for the matching subscriptions are queued (or held
    /// while replaying). `dropped` is true when the sink is now too slow.
    func offer(_ events: [Prepared]) -> (queued: Int, dropped: Bool) {
        let outcome = state.withLock { state -> (Int, Bool) in
            guard !state.dropped, !state.closed, !state.subscriptions.isEmpty else { return (0, false) }
            var queued = 0
            for prepared in events {
                let event = prepared.event
                for (topic, frame) in prepared.frames {
                    if topic == .alerts, let visible = state.visible, !visible.contains(event.owner) { continue }
                    guard var subscription = state.subscriptions[topic] else { continue }
                    if !subscription.replayed.isEmpty {
                        if event.seq > subscription.replayedMax {
                            subscription.replayed = []
                            state.subscriptions[topic] = subscription
                        } else if subscription.replayed.remove(event.seq) != nil {
                            state.subscriptions[topic] = subscription
                            continue
                        }
                    }
                    if subscription.held != nil {
                        subscription.held!.append(event)
                        state.subscriptions[topic] = subscription
                    } else {
                        state.queue.append(frame)
                        queued += 1
                        // A run that ended ends its subscription, as the SSE stream ends.
                        if prepared.endsRun {
                            state.queue.append(Self.endFrame(topic))
                            state.subscriptions[topic] = nil
                        }
                    }
                }
            }
            if isTooSlow(state, now: .now) {
                state.dropped = true
                state.queue.removeAll()
                return (queued, true)
            }
            return (queued, false)
        }
        if outcome.0 > 0 || outcome.1 { signal() }
        return outcome
    }

    /// Ends a replay: the held live events the replay did not already send are queued.
    func finishReplay(_ topic: EventTopic, sent: Set<Int>) {
        state.withLock { state in
            guard var subscription = state.subscriptions[topic], let held = subscription.held else { return }
            subscription.held = nil
            subscription.replayed = sent.subtracting(held.map(\.seq))
            subscription.replayedMax = sent.max() ?? 0
            state.subscriptions[topic] = subscription
            for event in held where !sent.contains(event.seq) {
                state.queue.append(Self.frame(event, topic: topic))
                if Self.endsRun(event, table: topic.table) {
                    state.queue.append(Self.endFrame(topic))
                    state.subscriptions[topic] = nil
                    break
                }
            }
        }
        signal()
    }

    /// The next work for the writer; waits while there is none.
    func next() async -> Work {
        while true {
            let work = state.withLock { state -> Work? in
                if state.closed || state.dropped { return .closed }
                if !state.replays.isEmpty {
                    let (topic, after) = state.replays.removeFirst()
                    return .replay(topic, after: after)
                }
                state.drained = .now
                if !state.queue.isEmpty {
                    defer { state.queue.removeAll(keepingCapacity: true) }
                    return .frames(state.queue)
                }
                return nil
            }
            if let work { return work }
            await waitForWork()
            if Task.isCancelled { return .closed }
        }
    }

    /// Suspends until ``signal()`` (or cancellation); a signal with nobody waiting is kept for
    /// the next wait. One continuation, no task or timer per wait: 500 sockets wake at once on
    /// every event.
    private func waitForWork() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = waiter.withLock { waiter -> Bool in
                    if waiter.pending || Task.isCancelled {
                        waiter.pending = false
                        return true
                    }
                    waiter.continuation = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            signal()
        }
    }

    private func signal() {
        let continuation = waiter.withLock { waiter -> CheckedContinuation<Void, Never>? in
            guard let continuation = waiter.continuation else {
                waiter.pending = true
                return nil
            }
            waiter.continuation = nil
            return continuation
        }
        continuation?.resume()
    }

    func close() {
        state.withLock { $0.closed = true }
        signal()
    }

    /// A run's final `status` event (completed, failed, cancelled).
    static func endsRun(_ event: StoredEvent, table: EventTable) -> Bool {
        guard table == .runs, event.type == "status",
              let status = (try? JSONCoding.decode(JSONValue.self, from: event.data))?["status"]?.stringValue else { return false }
        return RunStatus(rawValue: status)?.isFinal ?? false
    }

    static func endFrame(_ topic: EventTopic) -> String {
        var bytes = Array(#"{"type":"end","topic":"#.utf8)
        JSONEscaping.appendString(topic.name, to: &bytes)
        bytes.append(0x7D)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The subscriptions an event belongs to.
    static func topics(of event: StoredEvent, table: EventTable, visible: Set<String>?) -> [EventTopic] {
        switch table {
        case .runs:
            return [.run(event.owner)]
        case .personas:
            if event.type.hasPrefix("alert."), visible?.contains(event.owner) ?? true {
                return [.persona(event.owner), .alerts]
            }
            return [.persona(event.owner)]
        }
    }

    /// `{"type":"event","topic":...,"id":seq,"event":type,"at":...,"data":{...}}`; `data` is
    /// the stored JSON as it is (no decode and re-encode per socket).
    static func frame(_ event: StoredEvent, topic: EventTopic) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(event.data.utf8.count + 128)
        bytes.append(contentsOf: Array(#"{"type":"event","topic":"#.utf8))
        JSONEscaping.appendString(topic.name, to: &bytes)
        bytes.append(contentsOf: Array(",\"id\":\(event.seq),\"event\":".utf8))
        JSONEscaping.appendString(event.type, to: &bytes)
        bytes.append(contentsOf: Array(",\"at\":\"".utf8))
        JSONCoding.writeTimestamp(event.createdAt, to: &bytes)
        bytes.append(0x22)
        bytes.append(contentsOf: Array(",\"data\":".utf8))
        bytes.append(contentsOf: Array(event.data.utf8))
        bytes.append(0x7D)
        return String(decoding: bytes, as: UTF8.self)
    }
}
