import Foundation
import NIOHTTP1
import PersonaKit
import Synchronization
@testable import Supervisor

/// The control plane's memory change log and embedder, scripted: `put`/`delete` append to
/// the log the way the real one does (a chunk appears once, at its latest change), and
/// `GET .../memory/changes` pages through it with the real wire types and the real
/// `after`/`limit`/`hasMore`/`nextVersion` rules. `POST .../memory/embed` answers the vectors
/// set with ``setEmbedding(_:_:)`` and refuses other texts.
final class FakeMemoryLog: Sendable {
    private struct State {
        var model = "test-model"
        var dimension = 4
        var entries: [MemoryChangeEntry] = []
        var version: Int64 = 0
        var embeddings: [String: [Float]] = [:]
        /// Caps the `limit` a client asks for, to force several pages.
        var pageLimit: Int?
        var changeRequests = 0
        var embedRequests = 0
    }

    private let state = Mutex(State())

    /// The newest version in the log.
    var version: Int64 { state.withLock { $0.version } }
    var changeRequests: Int { state.withLock { $0.changeRequests } }
    var embedRequests: Int { state.withLock { $0.embedRequests } }

    /// Adds or replaces a chunk; its vector is tagged with `model` (the current model by default).
    func put(_ chunkId: String, _ text: String, vector: [Float]?, curated: Bool = false, document: String = "doc-1",
             documentName: String = "notes.md", model: String? = nil) {
        state.withLock { state in
            state.version += 1
            state.entries.removeAll { $0.chunkId == chunkId }
            state.entries.append(MemoryChangeEntry(
                version: state.version, chunkId: chunkId, deleted: false, documentId: document, documentName: documentName,
                curated: curated, text: text, model: model ?? state.model, vector: vector.map(MemoryVector.encode)))
        }
    }

    /// Deletes a chunk.
    func delete(_ chunkId: String) {
        state.withLock { state in
            state.version += 1
            state.entries.removeAll { $0.chunkId == chunkId }
            state.entries.append(MemoryChangeEntry(version: state.version, chunkId: chunkId, deleted: true))
        }
    }

    /// Switches the embedding model (what every page and embedding names from now on).
    func setModel(_ model: String, dimension: Int) {
        state.withLock { state in
            state.model = model
            state.dimension = dimension
        }
    }

    func setEmbedding(_ text: String, _ vector: [Float]) {
        state.withLock { $0.embeddings[text] = vector }
    }

    func setPageLimit(_ limit: Int?) {
        state.withLock { $0.pageLimit = limit }
    }

    /// The answer to a memory route, `nil` for any other request.
    func answer(_ request: APIRequest) -> APIResponse? {
        switch (request.method, request.path) {
        case (.GET, SupervisorRoutes.memoryChanges): changes(request)
        case (.POST, SupervisorRoutes.memoryEmbed): embed(request)
        default: nil
        }
    }

    private func changes(_ request: APIRequest) -> APIResponse {
        guard let after = Int64(request.query["after"] ?? "0"), after >= 0,
              let limit = Int(request.query["limit"] ?? "500"), (1...2000).contains(limit) else {
            return Self.error(.badRequest, "after must be a version (>= 0) and limit from 1 to 2000")
        }
        let page = state.withLock { state in
            state.changeRequests += 1
            let effective = min(limit, state.pageLimit ?? limit)
            let pending = state.entries.filter { $0.version > after }
            let changes = Array(pending.prefix(effective))
            return MemoryChangesResponse(changes: changes, nextVersion: changes.last?.version ?? after,
                                         hasMore: pending.count > effective, model: state.model, dimension: state.dimension)
        }
        return Self.json(page)
    }

    private func embed(_ request: APIRequest) -> APIResponse {
        guard let body = try? SupervisorJSON.decoder.decode(MemoryEmbedRequest.self, from: Data(request.body)),
              (1...16).contains(body.texts.count) else {
            return Self.error(.badRequest, "texts must hold 1 to 16 texts")
        }
        let answer = state.withLock { state -> MemoryEmbedResponse? in
            state.embedRequests += 1
            let vectors = body.texts.compactMap { state.embeddings[$0] }
            guard vectors.count == body.texts.count else { return nil }
            return MemoryEmbedResponse(model: state.model, dimension: state.dimension, vectors: vectors.map(MemoryVector.encode))
        }
        guard let answer else { return Self.error(.internalServerError, "no scripted embedding") }
        return Self.json(answer)
    }

    private static func json(_ value: some Encodable) -> APIResponse {
        guard let body = try? SupervisorJSON.encoder.encode(value) else { return error(.internalServerError, "encoding failed") }
        return APIResponse(status: .ok, headers: [("Content-Type", "application/json")], body: Array(body))
    }

    private static func error(_ status: HTTPResponseStatus, _ message: String) -> APIResponse {
        let payload = ErrorPayload(error: message, code: "fake_error", traceId: String(repeating: "0", count: 32))
        return APIResponse(status: status, headers: [("Content-Type", "application/json")],
                           body: Array((try? SupervisorJSON.encoder.encode(payload)) ?? Data()))
    }
}
