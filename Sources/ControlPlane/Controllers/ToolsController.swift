import Containers
import Foundation
import Hummingbird
import NIOPosix
import PersonaCore
import PersonaKit
import PersonaStorage
import Tools

/// `/api/tools[...]`: the installation-wide tool catalog. Every signed-in user reads it; the
/// detail names only the caller's own personas. Admins upload custom tool packages and delete
/// their versions.
struct ToolsController: Sendable {
    let database: Database
    let tools: ToolRegistry
    let search: ToolSearch
    let containers: ContainerManager
    let settings: ToolSettings
    let personas = PersonaRepository()
    let audit = AuditRepository()

    /// What `POST /api/tools` answers.
    struct UploadDTO: Codable, Sendable {
        struct Package: Codable, Sendable {
            var format: String
            var files: Int
            var bytes: Int
        }
        var tool: ToolDetailDTO
        var package: Package
        /// Running containers that picked the tool up now (the others load it when they start).
        var delivery: CustomToolDelivery.Outcome
    }

    /// What `DELETE /api/tools/{name}/versions/{version}` answers.
    struct DeletedDTO: Codable, Sendable {
        var id: String
        var name: String
        var version: String
        var delivery: CustomToolDelivery.Outcome
    }

    static let maxSearchLimit = 50

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get { request, _ in
            let query = request.uri.queryParameters
            let page = try Page(request: request, cursor: .name)
            let source = try query.get("source").map { text in
                guard let source = ToolSource(rawValue: text) else {
                    throw APIError.validation("source must be one of \(ToolSource.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return source
            }
            let category = try query.get("category").map { try Validate.text($0, field: "category", max: 64) }
            let text = try query.get("q").map { try Validate.text($0, field: "q", min: 0, max: 200) }
            let (list, next) = try await tools.list(category: category, source: source, query: text, after: page.cursor, limit: page.limit)
            return try JSONResponse.data(list, nextCursor: next)
        }
        group.get("search") { request, context in
            let user = try context.requireUser()
            let query = request.uri.queryParameters
            let text = try Validate.text(query.get("q") ?? "", field: "q", max: 1000)
            var limit = 10
            if let raw = query.get("limit") {
                guard let value = Int(raw), (1...Self.maxSearchLimit).contains(value) else {
                    throw APIError.validation("limit must be a whole number from 1 to \(Self.maxSearchLimit)")
                }
                limit = value
            }
            var personaId: String?
            if let raw = query.get("personaId") {
                // Only a persona you can see; one you cannot is as good as none (404).
                guard Identifier.isValid(raw),
                      try await database.withConnection({ try await personas.access(personaId: raw.lowercased(), user: user, on: $0) }) != nil
                else { throw APIError.notFound("Persona") }
                personaId = raw.lowercased()
            }
            return try JSONResponse.data(try await search.search(text, limit: limit, enabledFor: personaId))
        }
        group.post { request, context in
            let user = try context.requireAdmin()
            let limits = ToolPackage.Limits(maxPackageBytes: settings.maxPackageBytes)
            let upload = try await UploadedFile.read(request, fields: ["package", "file"], limit: settings.maxPackageBytes)
            guard !upload.bytes.isEmpty else { throw APIError.validation("The package is empty") }
            let package = try await NIOThreadPool.singleton.runIfActive { try ToolPackage.read(upload.bytes, limits: limits) }
            let manifest = package.manifest
            let tool = try await tools.install(package, root: containers.customToolsDirectory) { id, tx in
                try await audit.insert(AuditEvent(context, type: "tool.uploaded", category: "tool", description: "Custom tool uploaded",
                                                  metadata: ["toolId": id, "name": manifest.name, "version": manifest.version,
                                                             "bytes": package.size, "files": package.files.count]), on: tx)
            }
            let delivery = await CustomToolDelivery(registry: tools, containers: containers, logger: context.logger)
                .reloadRunning(trace: context.trace)
            guard let detail = try await tools.detail(idOrName: tool.id, for: user) else { throw APIError.notFound("Tool") }
            return try JSONResponse.data(UploadDTO(tool: detail, package: .init(format: package.format, files: package.files.count,
                                                                                bytes: package.size),
                                                   delivery: delivery), status: .created)
        }
        // The path parameter shares its name with the detail route's (the router requires it).
        group.delete("{idOrName}/versions/{version}") { _, context in
            _ = try context.requireAdmin()
            let name = context.parameters.get("idOrName") ?? ""
            let version = context.parameters.get("version") ?? ""
            guard ToolDependency(name) != nil, SemanticVersion(version) != nil else { throw APIError.notFound("Tool version") }
            let deleted = try await tools.deleteVersion(name: name, version: version, root: containers.customToolsDirectory) { tool, tx in
                try await audit.insert(AuditEvent(context, type: "tool.deleted", category: "tool", description: "Custom tool version deleted",
                                                  metadata: ["toolId": tool.id, "name": tool.name, "version": tool.version]), on: tx)
            }
            let delivery = await CustomToolDelivery(registry: tools, containers: containers, logger: context.logger)
                .reloadRunning(trace: context.trace)
            return try JSONResponse.data(DeletedDTO(id: deleted.id, name: deleted.name, version: deleted.version, delivery: delivery))
        }
        group.get("categories") { _, _ in
            try JSONResponse.data(try await tools.categories())
        }
        group.get("{idOrName}") { _, context in
            let user = try context.requireUser()
            let key = context.parameters.get("idOrName") ?? ""
            guard !key.isEmpty, key.utf8.count <= 200, let detail = try await tools.detail(idOrName: key, for: user) else {
                throw APIError.notFound("Tool")
            }
            return try JSONResponse.data(detail)
        }
    }
}
