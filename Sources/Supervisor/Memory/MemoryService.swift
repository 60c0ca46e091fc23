#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PersonaKit
import Synchronization

/// Keeps the ``MemoryCache`` in step with the control plane's memory change log and answers
/// `memory_search`: periodically (``run(every:)``) and before each search (``sync(timeout:)``
/// with a short deadline), it pulls `GET /internal/v1/supervisors/memory/changes` page by
/// page. Syncs may overlap: a page is applied only if the cursor is still where it was fetched
/// from, so the loser simply continues from the winner's cursor.
public final class MemoryService: Sendable {
    public let cache: MemoryCache
    let channel: ControlPlaneChannel
    let logger: Logger
    let pageSize: Int
    /// Added to the similarity of curated chunks (the control plane's default).
    let curatedBoost: Float
    /// How long a search waits for its sync and for the query's embedding.
    let searchSyncTimeout: Duration
    let searchEmbedTimeout: Duration
    private let state = Mutex<(lastAttemptAt: Date?, lastError: String?)>((nil, nil))

    /// - Parameters:
    ///   - pageSize: entries asked for per request (`limit`, 1...2000 on the control plane).
    public init(cache: MemoryCache, channel: ControlPlaneChannel, logger: Logger, pageSize: Int = 500, curatedBoost: Float = 0.05,
                searchSyncTimeout: Duration = .seconds(2), searchEmbedTimeout: Duration = .seconds(3)) {
        self.searchSyncTimeout = searchSyncTimeout
        self.searchEmbedTimeout = searchEmbedTimeout
        self.cache = cache
        self.channel = channel
        self.logger = logger
        self.pageSize = pageSize
        self.curatedBoost = curatedBoost
    }

    /// Syncs now, then every `interval`, until cancelled.
    public func run(every interval: Duration) async {
        while !Task.isCancelled {
            await sync(timeout: .seconds(60))
            try? await Task.sleep(for: interval)
        }
    }

    /// Pulls and applies change-log pages until the control plane says there are no more.
    /// Never throws: failures are recorded for ``status()`` and logged once per reason.
    /// - Returns: whether the cache caught up (every page fetched and applied) within `timeout`.
    @discardableResult
    public func sync(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        state.withLock { $0.lastAttemptAt = Date() }
        do throws(SupervisorError) {
            var cursor = try cache.meta().version
            var changed = (upserted: 0, deleted: 0)
            while true {
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { throw SupervisorError("timeout", "the sync did not finish within \(timeout)", status: 504) }
                let page = try await fetchPage(after: cursor, timeout: remaining)
                let outcome = try cache.apply(page, after: cursor)
                if outcome.modelChanged {
                    logger.info("memory model changed; cached vectors dropped", metadata: ["model": "\(page.model)"])
                }
                changed.upserted += outcome.upserted
                changed.deleted += outcome.deleted
                if outcome.applied && page.hasMore && outcome.version <= cursor {
                    throw SupervisorError("invalid_response", "the memory change log did not advance past \(cursor)", status: 502)
                }
                cursor = outcome.version
                if outcome.applied && !page.hasMore { break }
            }
            noteSuccess(version: cursor, upserted: changed.upserted, deleted: changed.deleted)
            return true
        } catch {
            noteFailure(error)
            return false
        }
    }

    /// The control plane's embedding of `query`, or `nil` when it cannot be had in `timeout`.
    /// Maps to `POST /internal/v1/supervisors/memory/embed`.
    public func embed(_ query: String, timeout: Duration) async -> (model: String, vector: [Float])? {
        do {
            let body = Array(try SupervisorJSON.encoder.encode(MemoryEmbedRequest(texts: [query])))
            let response = try await channel.send(.POST, SupervisorRoutes.memoryEmbed, body: body, timeout: timeout)
            guard response.status == 200 else {
                logger.warning("query embedding refused", metadata: ["status": "\(response.status)"])
                return nil
            }
            let answer = try SupervisorJSON.decoder.decode(MemoryEmbedResponse.self, from: Data(response.body))
            guard let text = answer.vectors.first, let vector = MemoryVector.decode(text), vector.count == answer.dimension else {
                logger.warning("query embedding malformed", metadata: ["model": "\(answer.model)"])
                return nil
            }
            return (answer.model, vector)
        } catch {
            logger.debug("query embedding unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }

    /// The cache's size, cursor and sync state (`GET /v1/memory`).
    public func status() -> MemoryCacheStatus {
        let meta = try? cache.meta()
        let counts = try? cache.counts()
        let (attempt, error) = state.withLock { ($0.lastAttemptAt, $0.lastError) }
        return MemoryCacheStatus(chunkCount: counts?.chunks ?? -1, vectorCount: counts?.vectors ?? -1, version: meta?.version ?? -1,
                                 model: meta?.model, dimension: meta?.dimension, lastSyncAt: meta?.syncedAt,
                                 lastAttemptAt: attempt, lastSyncError: error)
    }

    private func fetchPage(after cursor: Int64, timeout: Duration) async throws(SupervisorError) -> MemoryChangesResponse {
        let response = try await channel.send(.GET, "\(SupervisorRoutes.memoryChanges)?after=\(cursor)&limit=\(pageSize)", body: nil,
                                              timeout: timeout)
        guard response.status == 200 else {
            throw SupervisorError("sync_refused", "the control plane answered HTTP \(response.status)", status: 502)
        }
        do {
            return try SupervisorJSON.decoder.decode(MemoryChangesResponse.self, from: Data(response.body))
        } catch {
            throw SupervisorError("invalid_response", "the memory change log could not be decoded", status: 502, underlying: error)
        }
    }

    private func noteSuccess(version: Int64, upserted: Int, deleted: Int) {
        let previous = state.withLock { state -> String? in
            defer { state.lastError = nil }
            return state.lastError
        }
        if previous != nil { logger.info("memory sync recovered", metadata: ["version": "\(version)"]) }
        if upserted + deleted > 0 {
            logger.info("memory synced", metadata: ["version": "\(version)", "upserted": "\(upserted)", "deleted": "\(deleted)"])
        }
    }

    private func noteFailure(_ error: SupervisorError) {
        let reason = "\(error.code): \(error.message)"
        let first = state.withLock { state -> Bool in
            defer { state.lastError = reason }
            return state.lastError != reason
        }
        if first {
            logger.warning("memory sync failed; searching the cache as it is", metadata: [
                "error": "\(String(reflecting: error))", "endpoint": "\(channel.endpoint)"])
        }
    }
}

/// `GET /v1/memory` on the supervisor: the in-container memory cache.
public struct MemoryCacheStatus: Codable, Sendable, Hashable {
    /// Chunks cached (-1 when the cache is unreadable).
    public var chunkCount: Int
    /// Chunks with a vector of the current model.
    public var vectorCount: Int
    /// The sync cursor: the last change-log version applied.
    public var version: Int64
    public var model: String?
    public var dimension: Int?
    /// The last sync that reached the control plane and applied a page.
    public var lastSyncAt: Date?
    public var lastAttemptAt: Date?
    /// Why the last sync failed (`nil` when it succeeded).
    public var lastSyncError: String?
}
