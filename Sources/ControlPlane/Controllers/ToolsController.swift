import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage
import Tools

/// `/api/tools[...]`: the installation-wide tool catalog. Every signed-in user reads it; the
/// detail names only the caller's own personas.
struct ToolsController: Sendable {
    let tools: ToolRegistry

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
