import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

/// A small pool of SQLite connections to one file, in WAL mode with foreign keys on and a
/// busy timeout, so readers run side by side and writers wait their turn.
///
/// The pool has its own thread pool with one thread per connection: a connection waiting in
/// SQLite's busy handler blocks its thread, and with fewer threads than connections the
/// connection holding the write lock could find no thread to commit on.
actor SQLiteConnectionPool {
    private let path: String
    private let threads: NIOThreadPool
    private let size: Int
    private let logger: Logger
    private var idle: [SQLiteConnection] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<SQLiteConnection, any Error>] = []
    private var closed = false

    init(path: String, size: Int, logger: Logger) {
        self.path = path
        self.size = max(1, size)
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: max(1, size))
        self.threads.start()
    }

    func withConnection<T: Sendable>(_ body: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        let connection = try await checkout()
        do {
            let value = try await body(connection)
            checkin(connection)
            return value
        } catch {
            checkin(connection)
            throw error
        }
    }

    private func checkout() async throws -> SQLiteConnection {
        guard !closed else { throw StorageError(.unavailable, "database pool closed") }
        if let connection = idle.popLast() { return connection }
        if opened < size {
            opened += 1
            do {
                return try await open()
            } catch {
                opened -= 1
                throw error
            }
        }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    private func checkin(_ connection: SQLiteConnection) {
        if closed {
            Task { await self.retire(connection) }
            return
        }
        if !waiters.isEmpty {
            waiters.removeFirst().resume(returning: connection)
        } else {
            idle.append(connection)
        }
    }

    private func open() async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: threads, logger: logger,
            on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            _ = try await connection.query("PRAGMA journal_mode = WAL")
            _ = try await connection.query("PRAGMA synchronous = FULL")
            _ = try await connection.query("PRAGMA foreign_keys = ON")
            _ = try await connection.query("PRAGMA busy_timeout = 10000")
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }

    func close() async {
        closed = true
        let pending = waiters
        waiters.removeAll()
        for waiter in pending { waiter.resume(throwing: StorageError(.unavailable, "database pool closed")) }
        // Take the idle connections out before awaiting: the actor is re-entered while each closes.
        let connections = idle
        idle.removeAll()
        for connection in connections { await retire(connection) }
        if opened == 0 { try? await threads.shutdownGracefully() }
    }

    /// Closes a connection for good; the last one to go stops the pool's threads.
    private func retire(_ connection: SQLiteConnection) async {
        await Self.close(connection, logger: logger)
        opened -= 1
        if closed, opened == 0 { try? await threads.shutdownGracefully() }
    }

    /// Closes a connection; one that fails to close is kept alive rather than deinitialised
    /// open (sqlite-nio asserts on that), and the failure is logged.
    static func close(_ connection: SQLiteConnection, logger: Logger) async {
        do {
            try await connection.close()
        } catch {
            logger.error("closing an SQLite connection failed", metadata: ["error": "\(String(reflecting: error))"])
            unclosed.withLock { $0.append(connection) }
        }
    }

    private static let unclosed = Mutex<[SQLiteConnection]>([])
}
