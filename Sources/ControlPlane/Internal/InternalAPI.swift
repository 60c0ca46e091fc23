import Foundation
import Hummingbird
import Logging
import NIOCore
import PersonaKit
import ServiceLifecycle
import PersonaStorage
import PersonaCore
import Memory
import Containers
import Tools

/// `/internal/v1/supervisors/...`: what supervisors report. Never on the public port: served on
/// the unix socket mounted into containers (or, for a remote engine, its own TCP listener).
/// Every request carries a container token; the token names the persona.
struct InternalAPIController: Sendable {
    let configuration: AppConfiguration
    let database: Database
    let containers: ContainerManager
    let memory: MemoryService
    let tools: ToolRegistry
    let secretBox: SecretBox
    /// Opened once migrations ran; loops wait on it before their first query.
    let startup: Gate
    let secrets = SecretRepository()
    let connectors = ConnectorRepository()
    let audit = AuditRepository()
    let events = PersonaEventRepository()
    var manager: ContainerManager { containers }

    /// Largest report accepted (an events batch of 50 finished invocations with outputs).
    static let maxBody = 64 << 20

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post(RouterPath(SupervisorRoutes.register)) { request, context in
            let record = try await authenticate(request)
            let body = try await decode(RegisterRequest.self, request)
            guard body.personaId == record.personaId else {
                throw APIError(.forbidden, code: "wrong_persona", "This token belongs to another persona")
            }
            let registered = try await database.transaction { tx in
                guard try await manager.repository.markRegistered(personaId: record.personaId, tokenHash: record.tokenHash,
                                                                  bootId: body.bootId, version: body.version, now: Date(), on: tx)
                else { return false }
                try await tools.syncPersona(personaId: record.personaId, manifests: body.tools, now: Date(), on: tx)
                try await audit.insert(AuditEvent(userId: nil, personaId: record.personaId, traceId: context.trace.traceId,
                                                           eventType: "container.registered", eventCategory: "container",
                                                           description: "Supervisor registered",
                                                           metadata: ["bootId": .string(body.bootId), "version": .string(body.version),
                                                                      "tools": .number(Double(body.tools.count))]), on: tx)
                return true
            }
            guard registered else { throw APIError.unauthorized("This container token is no longer valid") }
            context.logger.info("supervisor registered", metadata: ["persona_id": "\(record.personaId)", "boot_id": "\(body.bootId)"])
            await manager.waiters.signal(record.personaId)
            return try reply(RegisterResponse(heartbeatIntervalSeconds: record.heartbeatIntervalSeconds))
        }
        router.post(RouterPath(SupervisorRoutes.heartbeat)) { request, context in
            let record = try await authenticate(request)
            let body = try await decode(Heartbeat.self, request)
            let text = try JSONCoding.encodeString(body)
            let fresh = try await database.withConnection {
                try await manager.repository.recordHeartbeat(personaId: record.personaId, bootId: body.bootId, heartbeat: text,
                                                             healthy: body.status == "ok", now: Date(), on: $0)
            }
            guard fresh else { throw APIError(.conflict, code: "stale_boot", "This boot is not the registered one; register first") }
            // A sidecar that started, stopped or failed since the last heartbeat is an event
            // on the persona's live topic (most heartbeats change nothing and write nothing).
            let states = { (beat: Heartbeat?) in Dictionary((beat?.sidecars ?? []).map { ($0.name, $0.state) }, uniquingKeysWith: { a, _ in a }) }
            if states(record.heartbeat) != states(body) {
                let sidecars: [JSONValue] = body.sidecars.map {
                    ["name": .string($0.name), "state": .string($0.state), "detail": $0.detail.map { .string($0) } ?? .null,
                     "eager": .bool($0.eager), "restarts": .number(Double($0.restarts))]
                }
                try await database.withConnection {
                    try await events.append(personaId: record.personaId, type: "sidecars", data: ["sidecars": .array(sidecars)],
                                            now: Date(), on: $0)
                }
                database.eventsWritten.signal()
            }
            return Response(status: .noContent)
        }
        router.post(RouterPath(SupervisorRoutes.events)) { request, context in
            let record = try await authenticate(request)
            let batch = try await decode(SupervisorEventBatch.self, request)
            try await database.transaction { tx in
                for event in batch.events.sorted(by: { $0.sequence < $1.sequence }) {
                    // Delivered in order; a sequence seen before is a duplicate delivery.
                    guard try await manager.repository.advanceSequence(personaId: record.personaId, to: event.sequence, on: tx) else { continue }
                    if event.kind == .finished, let key = event.idempotencyKey, let result = event.result {
                        try await manager.tools.finishRun(personaId: record.personaId, idempotencyKey: key, result: result, now: Date(), on: tx)
                    }
                    var data: [String: JSONValue] = ["invocationId": .string(event.invocationId), "tool": .string(event.tool),
                                           "at": .string(JSONCoding.formatTimestamp(event.at))]
                    if let result = event.result {
                        data["status"] = .string(result.status.rawValue)
                        data["durationMs"] = .number(Double(result.durationMs))
                    }
                    try await events.append(personaId: record.personaId, type: "tool.\(event.kind.rawValue)", data: .object(data), now: Date(), on: tx)
                }
            }
            database.eventsWritten.signal()
            return Response(status: .noContent)
        }
        router.get(RouterPath(SupervisorRoutes.secrets)) { request, context in
            let record = try await authenticate(request)
            let secrets = try await database.withConnection { db -> [String: String] in
                var out: [String: String] = [:]
                for secret in try await self.secrets.sealedValues(personaId: record.personaId, on: db) {
                    out[secret.name] = try secretBox.open(secret.ciphertext, personaId: record.personaId, name: secret.name)
                }
                // The email connectors, as the one value the email tools declare (it wins over a
                // persona secret of the same name).
                let channel = try EmailChannel.value(try await connectors.list(personaId: record.personaId, on: db),
                                                     secretBox: secretBox, settings: configuration.connectors)
                if let json = channel.json { out[EmailChannel.secretName] = json }
                if !channel.skipped.isEmpty {
                    context.logger.warning("connector credentials do not open (ENCRYPTION_KEY changed?)",
                                           metadata: ["connectors": "\(channel.skipped.joined(separator: ","))"])
                }
                try await audit.insert(AuditEvent(userId: nil, personaId: record.personaId, traceId: context.trace.traceId,
                                                           eventType: "secret.delivered", eventCategory: "secret",
                                                           description: "Secrets delivered to the persona's supervisor",
                                                           metadata: ["names": .array(out.keys.sorted().map { .string($0) })]), on: db)
                return out
            }
            // The desktop's VNC password, derived from this container's token (the bearer).
            let token = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? ""
            var response = try reply(SecretsResponse(secrets: secrets, vncPassword: PersonaRuntime.vncPassword(containerToken: token)))
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    /// The in-container memory cache: the change log and query embeddings.
    func addMemoryRoutes(to router: Router<AppRequestContext>) {
        router.get(RouterPath(SupervisorRoutes.memoryChanges)) { request, _ in
            let record = try await authenticate(request)
            let query = request.uri.queryParameters
            let after = Int64(query.get("after") ?? "0") ?? -1
            let limit = Int(query.get("limit") ?? "500") ?? 0
            guard after >= 0, (1...2000).contains(limit) else {
                throw APIError.validation("after must be a version (>= 0) and limit from 1 to 2000")
            }
            let memory = memory
            let changes = try await database.withConnection {
                try await memory.chunks.changes(personaId: record.personaId, after: after, limit: limit + 1, on: $0)
            }
            let page = changes.prefix(limit)
            let entries = page.filter { !$0.superseded }.map { change in
                MemoryChangeEntry(version: change.version, chunkId: change.chunkId, deleted: change.vector == nil,
                                  documentId: change.documentId, documentName: change.documentName, curated: change.curated,
                                  text: change.text, model: change.model, vector: change.vector.map(MemoryVector.encode))
            }
            return try reply(MemoryChangesResponse(changes: entries, nextVersion: page.last?.version ?? after,
                                                   hasMore: changes.count > limit, model: memory.embedder.modelId,
                                                   dimension: memory.embedder.dimension))
        }
        router.post(RouterPath(SupervisorRoutes.memoryEmbed)) { request, _ in
            _ = try await authenticate(request)
            let body = try await decode(MemoryEmbedRequest.self, request)
            guard (1...16).contains(body.texts.count), body.texts.allSatisfy({ !$0.isEmpty && $0.count <= 4000 }) else {
                throw APIError.validation("texts must hold 1 to 16 non-empty texts of at most 4000 characters")
            }
            let memory = memory
            let vectors = try await memory.embedder.embed(body.texts)
            return try reply(MemoryEmbedResponse(model: memory.embedder.modelId, dimension: memory.embedder.dimension,
                                                 vectors: vectors.map(MemoryVector.encode)))
        }
    }

    /// The container whose token the request carries, or 401.
    private func authenticate(_ request: Request) async throws -> PersonaContainerRecord {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized("A container token is required")
        }
        let hash = ContainerManager.tokenHash(String(header.dropFirst(7)))
        guard let record = try await database.withConnection({ try await manager.repository.find(tokenHash: hash, on: $0) })
        else { throw APIError.unauthorized("Unknown container token") }
        return record
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: Self.maxBody)
        do {
            return try SupervisorJSON.decoder.decode(type, from: Data(buffer: buffer))
        } catch {
            throw APIError.validation("The report is not a valid \(T.self)")
        }
    }

    private func reply<T: Encodable>(_ value: T) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try SupervisorJSON.encoder.encode(value))))
    }
}

/// The internal API's own HTTP server: a unix socket in ``ContainerSettings/controlSocketDirectory``
/// (re-created at every start; containers mount the directory, not the file), or a TCP
/// listener for remote engines.
struct InternalAPIServer: Service {
    /// The routes it serves.
    let controller: InternalAPIController
    let logger: Logger
    var configuration: AppConfiguration { controller.configuration }
    var containers: ContainerManager { controller.containers }
    var startup: Gate { controller.startup }

    func run() async throws {
        let configuration = configuration
        let address: BindAddress
        switch configuration.containers.controlChannel {
        case .unixSocket:
            let directory = configuration.containers.controlSocketDirectory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, 0o755)
            address = .unixDomainSocket(path: containers.controlSocketPath)
        case .tcp(_, _, let host, let port, _):
            address = .hostname(host, port: port)
        }
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: TraceMiddleware())
        router.add(middleware: ErrorMiddleware())
        controller.addRoutes(to: router)
        controller.addMemoryRoutes(to: router)
        await startup.wait()
        let app = Application(router: router, configuration: .init(address: address, serverName: "persona-control-plane-internal"),
                              logger: logger)
        try await app.run()
    }
}
