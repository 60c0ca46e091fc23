import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

/// A small pool of SQLite connections to one file, in WAL mode with foreign keys on and a
/// busy timeout, so readers run side by side and writers wait their turn.
actor SQLiteConnectionPool {
    private let path: String
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
            Task { try? await connection.close() }
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
            storage: .file(path: path), threadPool: .singleton, logger: logger,
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
        for waiter in waiters { waiter.resume(throwing: StorageError(.unavailable, "database pool closed")) }
        waiters.removeAll()
        for connection in idle { try? await connection.close() }
        idle.removeAll()
    }
}
