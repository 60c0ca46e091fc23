import Foundation
import Logging
import PersonaCore
import PersonaStorage
import Prometheus
import ServiceLifecycle
import Synchronization

/// Follows the two event logs (`run_events`, `persona_events`) for every live socket of this
/// process and hands each new row to the sockets subscribed to it. One read per interval for
/// the whole process, not one per socket, and one at once when this process wrote events
/// (``Database/eventsWritten``); the tables are the only channel, so events written by another
/// replica on the same PostgreSQL arrive the same way, by the interval's read.
///
/// PostgreSQL hands out `seq` values before commit, so a row can become visible after a row
/// with a higher `seq`: each table's cursor therefore keeps the `seq` values it has seen above
/// its safe point and waits up to ``gapWait`` for a missing one before passing it (a rolled
/// back insert leaves a gap forever). SQLite commits one writer at a time, so it never waits.
package final class EventHub: Service, Sendable {
    let database: Database
    let startup: Gate
    let logger: Logger
    let settings: EventSettings
    let events = PersonaEventRepository()
    private let gapWait: Duration
    private let sinks = Mutex<[Int: EventSink]>([:])
    private let nextId = Atomic<Int>(0)
    /// Set once the cursors stand at the tables' heads: subscriptions wait for it, so their
    /// replay and the live stream meet without a hole.
    private let ready = Gate()
    let connections: Gauge
    let dropped: Counter
    let delivered: Counter

    package init(database: Database, startup: Gate, settings: EventSettings, metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.database = database
        self.startup = startup
        self.settings = settings
        self.logger = logger
        self.gapWait = database.kind == .postgres ? .seconds(2) : .zero
        connections = metrics.makeGauge(name: "persona_ws_connections", help: "Open WebSocket event streams")
        dropped = metrics.makeCounter(name: "persona_ws_dropped_total", help: "WebSocket streams closed because the client read too slowly")
        delivered = metrics.makeCounter(name: "persona_ws_events_total", help: "Events queued to WebSocket streams")
    }

    /// Live sockets in this process.
    package var connectionCount: Int { sinks.withLock { $0.count } }

    /// Registers a socket's sink; ``remove(_:)`` when it closes.
    func add(limit: Int) async -> EventSink {
        await ready.wait()
        let sink = EventSink(id: nextId.add(1, ordering: .relaxed).newValue, limit: limit, stallTimeout: settings.stallTimeout)
        sinks.withLock { $0[sink.id] = sink }
        connections.set(Double(connectionCount))
        database.eventsWritten.signal()
        return sink
    }

    func remove(_ sink: EventSink) {
        sinks.withLock { $0[sink.id] = nil }
        sink.close()
        connections.set(Double(connectionCount))
    }

    package func run() async throws {
        await startup.wait()
        var cursors: [EventTable: Cursor] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if cursors.isEmpty {
                    for table in EventTable.allCases {
                        cursors[table] = Cursor(safe: try await database.withConnection { try await self.events.head(table, on: $0) })
                    }
                    ready.open()
                }
                for table in EventTable.allCases {
                    while try await poll(table, cursor: &cursors[table]!) {}
                }
            } catch {
                logger.warning("event poll failed", metadata: ["error": "\(error)"])
            }
            // Quick while someone listens, slow (the cursors stay current) while nobody does.
            let idle = sinks.withLock { $0.isEmpty }
            try? await cancelWhenGracefulShutdown {
                await self.database.eventsWritten.wait(upTo: idle ? .seconds(1) : self.settings.pollInterval)
            }
        }
        for sink in sinks.withLock({ Array($0.values) }) { sink.close() }
    }

    /// Reads one batch of `table` past the cursor and fans it out; `true` when the batch was
    /// full (read again at once).
    private func poll(_ table: EventTable, cursor: inout Cursor) async throws -> Bool {
        let after = cursor.safe
        let batch = try await database.withConnection { try await self.events.tail(table, after: after, limit: Self.batch, on: $0) }
        let fresh = batch.filter { cursor.seen.insert($0.seq).inserted }
        cursor.advance(now: .now, gapWait: gapWait)
        guard !fresh.isEmpty else { return false }
        let targets = sinks.withLock { Array($0.values) }
        guard !targets.isEmpty else { return batch.count == Self.batch }
        let prepared = fresh.map { EventSink.Prepared($0, table: table) }
        var queued = 0
        for sink in targets {
            queued += sink.offer(prepared).queued
        }
        if queued > 0 { delivered.increment(by: Int64(queued)) }
        return batch.count == Self.batch
    }

    static let batch = 1000

    /// A table's read position: everything at or below `safe` was handed out (or given up);
    /// `seen` holds the `seq` values handed out above it.
    struct Cursor {
        var safe: Int
        var seen: Set<Int> = []
        var gapSince: (seq: Int, at: ContinuousClock.Instant)?

        mutating func advance(now: ContinuousClock.Instant, gapWait: Duration) {
            while !seen.isEmpty {
                if seen.remove(safe + 1) != nil {
                    safe += 1
                    gapSince = nil
                    continue
                }
                // A hole below rows already seen: an uncommitted or rolled-back insert.
                if let gap = gapSince, gap.seq == safe + 1 {
                    guard now - gap.at >= gapWait else { return }
                    safe += 1
                    gapSince = nil
                } else {
                    gapSince = (safe + 1, now)
                    if gapWait > .zero { return }
                }
            }
        }
    }
}

/// The event streams' settings (`WEBSOCKET_*`).
public struct EventSettings: Sendable {
    /// How often the hub reads the event tables while a socket is open.
    public var pollInterval: Duration = .milliseconds(10)
    /// Frames a socket may have waiting while its writer is stuck for ``stallTimeout`` before it
    /// counts as too slow and is closed (4008); 16 times this closes it at once.
    public var queueLimit = 1024
    public var stallTimeout: Duration = .seconds(5)
    /// How long a socket without a token in its subprotocol has to send `{"type":"auth"}`.
    public var authTimeout: Duration = .seconds(10)
    /// How often an open socket's session is checked again (logout, revocation, expiry).
    public var revalidateInterval: Duration = .seconds(2)
    /// Subscriptions one socket may hold.
    public var maxSubscriptions = 100
    public init() {}
}
