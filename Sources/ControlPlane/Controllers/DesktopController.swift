import DockerEngine
import Foundation
import Hummingbird
import NIOCore
import PersonaKit
import PersonaStorage
import Containers

/// `/api/personas/{id}/runtime` (which image and sidecars the container runs),
/// `/api/personas/{id}/desktop` (how an operator connects over VNC) and
/// `/api/personas/{id}/tool-runs/{runId}/artifacts/{index}` (files tools produced, such as
/// screenshots).
struct DesktopController: Sendable {
    let database: Database
    let containers: ContainerManager
    let personas = PersonaRepository()
    let audit = AuditRepository()
    var manager: ContainerManager { containers }

    struct RuntimeBody: StrictBody {
        var image: PersonaRuntime.Image?
        var eagerSidecars: [String]?
        var browserHeaded: Bool?
        var sidecarIdleSeconds: Int?
        static let fields: Set<String> = ["image", "eagerSidecars", "browserHeaded", "sidecarIdleSeconds"]
    }

    struct RuntimeDTO: Codable, Sendable {
        var image: PersonaRuntime.Image
        var imageTag: String
        var eagerSidecars: [String]
        var browserHeaded: Bool
        var sidecarIdleSeconds: Int
        /// The running container was started with other settings: they apply on its next start.
        var restartRequired: Bool
    }

    /// What an operator needs to watch or drive the persona's desktop.
    struct DesktopDTO: Codable, Sendable {
        var host: String
        var port: Int
        /// VNC authentication (8 characters); changes with every container.
        var password: String
        var url: String
        var display: String
        /// The desktop sidecars' state, as the supervisor reports it.
        var sidecars: [SidecarHealth]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("{id}/runtime") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try JSONResponse.data(try await runtimeDTO(persona.id))
        }
        group.put("{id}/runtime") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let body = try await request.decodeJSON(RuntimeBody.self, limit: 4096)
            try await database.transaction { tx in
                var runtime = try await manager.runtimes.find(personaId: persona.id, on: tx)
                if let image = body.image { runtime.image = image }
                if let eager = body.eagerSidecars { runtime.eagerSidecars = eager }
                if let headed = body.browserHeaded { runtime.browserHeaded = headed }
                if let idle = body.sidecarIdleSeconds { runtime.sidecarIdleSeconds = idle }
                try runtime.validate()
                try await manager.runtimes.save(personaId: persona.id, runtime, now: Date(), on: tx)
                try await audit.insert(AuditEvent(context, type: "persona.runtime_updated", category: "container",
                                                           description: "Container runtime changed", personaId: persona.id,
                                                           metadata: ["image": runtime.image.rawValue,
                                                                      "eagerSidecars": runtime.eagerSidecars.joined(separator: ","),
                                                                      "browserHeaded": runtime.browserHeaded]), on: tx)
            }
            return try JSONResponse.data(try await runtimeDTO(persona.id))
        }
        group.get("{id}/desktop") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let desktop = try await desktop(persona, context: context)
            try await database.withConnection {
                try await audit.insert(AuditEvent(context, type: "desktop.credentials_viewed", category: "container",
                                                           description: "VNC connection details viewed", personaId: persona.id), on: $0)
            }
            var response = try JSONResponse.data(desktop)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        group.get("{id}/tool-runs/{runId}/artifacts/{index}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            return try await artifact(persona, context: context)
        }
    }

    private func runtimeDTO(_ personaId: String) async throws -> RuntimeDTO {
        let runtime = try await database.withConnection { try await manager.runtimes.find(personaId: personaId, on: $0) }
        let record = try await manager.find(personaId)
        let tag = manager.image(for: runtime)
        // The container read the settings when it was provisioned (`started_at`): a change
        // since then, or another image, reaches it only with its next start.
        let running = record.map { $0.desiredState == .running && $0.state != .failed && $0.state != .stopped } ?? false
        var changedSince = false
        if let changed = runtime.updatedAt, let started = record?.startedAt { changedSince = changed > started }
        return RuntimeDTO(image: runtime.image, imageTag: tag, eagerSidecars: runtime.eagerSidecars, browserHeaded: runtime.browserHeaded,
                          sidecarIdleSeconds: runtime.sidecarIdleSeconds,
                          restartRequired: running && (record?.image != tag || changedSince))
    }

    private func desktop(_ persona: Persona, context: AppRequestContext) async throws -> DesktopDTO {
        let endpoint = try await Self.vncEndpoint(persona.id, manager: manager, database: database, trace: context.trace)
        // The desktop sidecars start with the request, so the answer is usable at once.
        var sidecars: [SidecarHealth] = []
        if endpoint.record.state == .ready {
            let supervisor = try await manager.supervisor(for: endpoint.record)
            sidecars = (try? await supervisor.health(trace: context.trace).sidecars.filter { ["xvfb", "x11vnc"].contains($0.name) }) ?? []
        }
        return DesktopDTO(host: endpoint.host, port: endpoint.port, password: endpoint.password,
                          url: "vnc://\(endpoint.host):\(endpoint.port)", display: ":1", sidecars: sidecars)
    }

    /// Where the persona's VNC server listens (host loopback, a port the engine chose) and its
    /// password, waking the persona first (a desktop request is activity).
    /// - Throws: ``APIError`` 409 `desktop_unavailable` for the standard image or a container
    ///   started before the desktop was chosen, 409 `container_not_ready`.
    static func vncEndpoint(_ personaId: String, manager: ContainerManager, database: Database,
                            trace: TraceContext) async throws -> (host: String, port: Int, password: String, record: PersonaContainerRecord) {
        let runtime = try await database.withConnection { try await manager.runtimes.find(personaId: personaId, on: $0) }
        guard runtime.image == .desktop else {
            throw APIError(.conflict, code: "desktop_unavailable",
                           "This persona runs the standard image, which has no desktop: PUT /api/personas/\(personaId)/runtime {\"image\": \"desktop\"} and restart its container")
        }
        try await manager.wake(personaId, trace: trace)
        guard let record = try await manager.find(personaId), record.desiredState == .running, let id = record.containerId,
              record.state == .ready || record.state == .starting
        else { throw ContainerManager.notReady(personaId) }
        let inspect = try await manager.docker.get().inspectContainer(id)
        guard let binding = inspect.networkSettings?.ports?["\(ContainerManager.vncPort)/tcp"]??.first,
              let port = binding.hostPort.flatMap(Int.init) else {
            throw APIError(.conflict, code: "desktop_unavailable",
                           "The persona's container was started before it chose the desktop image: restart its container")
        }
        let token = try manager.secretBox.open(record.tokenSealed, personaId: personaId, name: ContainerManager.tokenSecretName)
        let host = binding.hostIP.flatMap { $0.isEmpty || $0 == "0.0.0.0" ? nil : $0 } ?? "127.0.0.1"
        return (host, port, PersonaRuntime.vncPassword(containerToken: token), record)
    }

    private func artifact(_ persona: Persona, context: AppRequestContext) async throws -> Response {
        let id = try context.id("runId", what: "Tool run")
        guard let index = context.parameters.get("index").flatMap(Int.init), index >= 0 else {
            throw APIError.validation("index must be a whole number from 0")
        }
        guard let run = try await database.withConnection({ try await manager.tools.find(id: id, on: $0) }),
              run.personaId == persona.id else { throw APIError.notFound("Tool run") }
        guard index < run.artifacts.count else { throw APIError.notFound("Artifact") }
        let artifact = run.artifacts[index]
        try await manager.wake(persona.id, trace: context.trace)
        guard let record = try await manager.find(persona.id), record.state == .ready else { throw ContainerManager.notReady(persona.id) }
        let bytes = try await manager.supervisor(for: record).readFile(artifact.path, trace: context.trace)
        var headers = HTTPFields()
        headers[.contentType] = Self.contentType(artifact.path)
        headers[.contentDisposition] = "attachment; filename=\"\(artifact.path.split(separator: "/").last ?? "artifact")\""
        headers[.cacheControl] = "private, max-age=3600"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: bytes))
    }

    static func contentType(_ path: String) -> String {
        switch path.split(separator: ".").last?.lowercased() {
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "pdf": "application/pdf"
        case "json": "application/json"
        case "txt", "log", "md": "text/plain; charset=utf-8"
        case "html": "text/html; charset=utf-8"
        case "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        case "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        default: "application/octet-stream"
        }
    }
}
