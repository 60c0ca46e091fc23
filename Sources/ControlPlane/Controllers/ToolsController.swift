import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage
import Tools

/// `/api/tools[...]`: the installation-wide tool catalog. Every signed-in user reads it; the
/// detail names only the caller's own personas.
struct ToolsController: Sendable {
    let database: Database
    let tools: ToolRegistry
    let search: ToolSearch
    let personas = PersonaRepository()

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
