import DockerEngine
import Foundation
import Logging
import PersonaKit

/// The control plane's one Docker client, connected on first use (the API version is
/// negotiated then), so the control plane starts, and answers clear 503s, while the engine is
/// down, and recovers by itself when it returns.
package actor DockerConnection {
    private let endpoint: Docker.Endpoint
    private let logger: Logger
    private var client: Docker.Client?
    private var connecting: Task<Docker.Client, any Error>?
    private var closed = false

    package init(endpoint: Docker.Endpoint, logger: Logger) {
        self.endpoint = endpoint
        self.logger = logger
    }

    /// The connected client; throws ``APIError`` 503 `engine_unavailable` when the engine
    /// cannot be reached.
    package func get() async throws -> Docker.Client {
        if let client { return client }
        guard !closed else { throw APIError(.serviceUnavailable, code: "shutting_down", "The control plane is shutting down") }
        let task = connecting ?? Task { [endpoint, logger] in
            try await Docker.Client.connect(to: endpoint, configuration: .init(maximumConnections: 256), logger: logger)
        }
        connecting = task
        do {
            let connected = try await task.value
            connecting = nil
            if closed {
                try? await connected.shutdown()
                throw APIError(.serviceUnavailable, code: "shutting_down", "The control plane is shutting down")
            }
            client = connected
            return connected
        } catch {
            connecting = nil
            throw ContainerErrors.map(error, endpoint: endpoint)
        }
    }

    package func shutdown() async {
        closed = true
        if let client { try? await client.shutdown() }
        client = nil
    }
}

/// How engine and supervisor failures reach an API client.
package enum ContainerErrors {
    package static func map(_ error: any Error, endpoint: Docker.Endpoint? = nil, image: String? = nil) -> any Error {
        if error is APIError || error is CancellationError { return error }
        guard let docker = error as? DockerError else { return error }
        switch docker.code {
        case .engineUnreachable, .timeout, .shutDown:
            return APIError(.serviceUnavailable, code: "engine_unavailable",
                            "The Docker engine\(endpoint.map { " at \($0)" } ?? "") is not reachable; try again when it is back")
        case .unsupportedAPIVersion:
            return APIError(.serviceUnavailable, code: "engine_unsupported", docker.message)
        case .noSuchImage:
            return APIError(.serviceUnavailable, code: "image_missing",
                            "The persona image \(image ?? "") is not on the engine: build it with scripts/build-images")
        case .conflict:
            return APIError(.conflict, code: "conflict", "The engine refused the change: \(docker.message)")
        default:
            return APIError(.badGateway, code: "engine_error", "The Docker engine failed: \(docker.message)")
        }
    }
}

/// Serializes work per key (a persona's start, stop and removal never interleave).
package actor KeyedLock {
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var held: Set<String> = []

    package func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(key)
        do {
            let value = try await body()
            release(key)
            return value
        } catch {
            release(key)
            throw error
        }
    }

    private func acquire(_ key: String) async {
        if !held.contains(key) {
            held.insert(key)
            return
        }
        await withCheckedContinuation { waiting[key, default: []].append($0) }
    }

    private func release(_ key: String) {
        if var queue = waiting[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[key] = queue.isEmpty ? nil : queue
            next.resume()  // ownership passes to the next waiter
        } else {
            held.remove(key)
        }
    }
}

/// Wakes whoever waits for a persona's supervisor to register.
package actor ReadinessWaiters {
    private var waiters: [String: [UUID: CheckedContinuation<Bool, Never>]] = [:]
    /// Resumes that arrived before their waiter was installed.
    private var early: [UUID: Bool] = [:]
    private var generation: [String: Int] = [:]

    /// Waits until `check` holds, re-checking on every ``signal(_:)`` for `personaId`, at
    /// most `timeout`. A signal between the check and the wait is not missed (generations).
    package func wait(_ personaId: String, timeout: Duration, check: @Sendable () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = generation[personaId, default: 0]
            if await check() { return true }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            let id = UUID()
            _ = await withTaskGroup(of: Bool.self) { group in
                group.addTask { await self.park(personaId, id, since: seen) }
                group.addTask {
                    try? await Task.sleep(for: remaining)
                    await self.resume(personaId, id, with: false)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                self.resume(personaId, id, with: first)
                return first
            }
            early[id] = nil
        }
    }

    private func park(_ personaId: String, _ id: UUID, since seen: Int) async -> Bool {
        if generation[personaId, default: 0] != seen { return true }
        if let value = early.removeValue(forKey: id) { return value }
        return await withCheckedContinuation { waiters[personaId, default: [:]][id] = $0 }
    }

    private func resume(_ personaId: String, _ id: UUID, with value: Bool) {
        guard let continuation = waiters[personaId]?.removeValue(forKey: id) else {
            early[id] = value
            return
        }
        if waiters[personaId]?.isEmpty == true { waiters[personaId] = nil }
        continuation.resume(returning: value)
    }

    package func signal(_ personaId: String) {
        generation[personaId, default: 0] += 1
        guard let all = waiters.removeValue(forKey: personaId) else { return }
        for continuation in all.values { continuation.resume(returning: true) }
    }
}
