import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A small pool of SQLite connections to one file, in WAL mode with foreign keys on and a
/// busy timeout, so readers run side by side and writers wait their turn.
///
/// The pool has its own thread pool with one thread per connection, for the statements that
/// can wait (``PooledSQLiteConnection`` runs only short hot reads on the caller's thread): a connection waiting in
/// SQLite's busy handler blocks its thread, and with fewer threads than connections the
/// connection holding the write lock could find no thread to commit on.
package final class SQLiteConnectionPool: Sendable {
    private struct State {
        var idle: [PooledSQLiteConnection] = []
        var opened = 0
        var waiters: [CheckedContinuation<PooledSQLiteConnection, any Error>] = []
        var closed = false
        var threadsStopped = false
    }

    private let path: String
    private let threads: NIOThreadPool
    private let size: Int
    private let logger: Logger
    /// Checkout and checkin are a few instructions under a lock, not actor hops: every
    /// database call passes here twice, and executor switches were a large share of a
    /// request's cost.
    private let state = Mutex(State())

    package init(path: String, size: Int, logger: Logger) {
        self.path = path
        self.size = max(1, size)
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: max(1, size))
        self.threads.start()
    }

    package func withConnection<T: Sendable>(_ body: @Sendable (PooledSQLiteConnection) async throws -> T) async throws -> T {
        let connection = try await checkout()
        do {
            let value = try await body(connection)
            await checkin(connection)
            return value
        } catch {
            await checkin(connection)
            throw error
        }
    }

    private enum Checkout {
        case ready(PooledSQLiteConnection)
        case open
        case wait
        case closed
    }

    private func checkout() async throws -> PooledSQLiteConnection {
        let decision: Checkout = state.withLock { state in
            if state.closed { return .closed }
            if let connection = state.idle.popLast() { return .ready(connection) }
            if state.opened < size {
                state.opened += 1
                return .open
            }
            return .wait
        }
        switch decision {
        case .ready(let connection):
            return connection
        case .closed:
            throw StorageError(.unavailable, "database pool closed")
        case .open:
            do {
                return try await open()
            } catch {
                state.withLock { $0.opened -= 1 }
                throw error
            }
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let now: Result<PooledSQLiteConnection, any Error>? = state.withLock { state in
                    if state.closed { return .failure(StorageError(.unavailable, "database pool closed")) }
                    if let connection = state.idle.popLast() { return .success(connection) }
                    state.waiters.append(continuation)
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        }
    }

    /// Returns `connection` to the pool, or hands it to the first waiter; after ``close()`` it
    /// is retired instead (awaited here, so no task outlives the caller).
    private func checkin(_ connection: PooledSQLiteConnection) async {
        let (waiter, retire): (CheckedContinuation<PooledSQLiteConnection, any Error>?, Bool) = state.withLock { state in
            if state.closed { return (nil, true) }
            if !state.waiters.isEmpty { return (state.waiters.removeFirst(), false) }
            state.idle.append(connection)
            return (nil, false)
        }
        if retire {
            await self.retire(connection)
        } else {
            waiter?.resume(returning: connection)
        }
    }

    private func open() async throws -> PooledSQLiteConnection {
        let connection = try await PooledSQLiteConnection.open(path: path, threads: threads)
        do {
            // The timeout first: switching to WAL needs a lock another connection may hold.
            for pragma in ["PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                           "PRAGMA foreign_keys = ON"] {
                try await connection.run(pragma, [], onRow: { _ in })
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    package func close() async {
        let (pending, connections) = state.withLock { state in
            state.closed = true
            defer {
                state.waiters.removeAll()
                state.idle.removeAll()
            }
            return (state.waiters, state.idle)
        }
        for waiter in pending { waiter.resume(throwing: StorageError(.unavailable, "database pool closed")) }
        for connection in connections { await retire(connection) }
        await stopThreadsIfIdle()
    }

    /// Closes a connection for good; the last one to go stops the pool's threads.
    ///
    /// Closing the file's last connection checkpoints the WAL into it (writes and fsync), so it
    /// runs on the pool's threads, never on a Swift concurrency thread; in a task of its own,
    /// because the pool's threads refuse work from a cancelled task and a service group shuts
    /// down by cancellation.
    private func retire(_ connection: PooledSQLiteConnection) async {
        let threads = self.threads
        let closed = await Task.detached { (try? await threads.runIfActive { connection.close() }) != nil }.value
        if !closed { connection.close() }
        state.withLock { $0.opened -= 1 }
        await stopThreadsIfIdle()
    }

    private func stopThreadsIfIdle() async {
        let stop = state.withLock { state -> Bool in
            guard state.closed, state.opened == 0, !state.threadsStopped else { return false }
            state.threadsStopped = true
            return true
        }
        if stop { try? await threads.shutdownGracefully() }
    }
}
