import Foundation
import PersonaKit
import PersonaStorage
import SQLKit

/// One tool of the catalog (`GET /api/tools`): its newest version, and which versions exist.
package struct CatalogToolDTO: Codable, Sendable {
    package var id: String
    package var name: String
    package var version: String
    package var description: String
    package var category: String
    package var source: ToolSource
    package var builtin: Bool
    package var requiresApproval: Bool
    package var needs: [String]
    package var dependsOn: [String]
    /// Every registered version, newest first.
    package var versions: [String]
    package var updatedAt: Date
}

extension CatalogToolDTO {
    /// The catalog entry of `tool` (a tool's newest version), with every version of its name.
    package init(_ tool: CatalogTool, versions: [String]) {
        let manifest = tool.manifest
        self.init(id: tool.id, name: tool.name, version: manifest.version, description: manifest.description,
                  category: manifest.category, source: tool.source, builtin: manifest.builtin,
                  requiresApproval: manifest.requiresApproval, needs: manifest.needs.map(\.rawValue),
                  dependsOn: manifest.dependsOn, versions: versions, updatedAt: tool.updatedAt)
    }
}

/// A tool in full (`GET /api/tools/{idOrName}`).
package struct ToolDetailDTO: Codable, Sendable {
    package struct Version: Codable, Sendable {
        package var id: String
        package var version: String
        package var source: ToolSource
        package var createdAt: Date
    }

    package struct Link: Codable, Sendable {
        package var id: String
        package var name: String
        package var version: String

        package init(_ link: ToolChainLink) {
            self.id = link.id
            self.name = link.name
            self.version = link.version
        }
    }

    package struct PersonaSwitch: Codable, Sendable {
        package var personaId: String
        package var personaName: String
        package var version: String
        package var enabled: Bool
    }

    package var id: String
    package var name: String
    package var version: String
    package var description: String
    package var category: String
    package var source: ToolSource
    package var builtin: Bool
    package var requiresApproval: Bool
    package var timeoutMs: Int
    package var needs: [String]
    package var secrets: [String]
    package var dependsOn: [String]
    /// What this version needs, transitively, in install order.
    package var dependencyChain: [Link]
    package var inputSchema: JSONValue
    package var outputSchema: JSONValue?
    /// Newest first.
    package var versions: [Version]
    /// The caller's personas that have a version of the tool, with its switch.
    package var personas: [PersonaSwitch]
    package var updatedAt: Date
}

/// A category with the number of tools in it.
package struct ToolCategoryDTO: Codable, Sendable {
    package var category: String
    package var count: Int
}

extension ToolRegistry {
    /// A page of the catalog, one entry per tool name (its newest version), by name.
    /// - Returns: the page and the cursor of the next one (the last name), if any.
    package func list(category: String?, source: ToolSource?, query: String?, after cursor: String?, limit: Int) async throws
        -> (tools: [CatalogToolDTO], nextCursor: String?) {
        let rows = try await database.withConnection {
            try await catalog.matching(category: category, source: source, query: query, after: cursor, on: $0)
        }
        var byName: [String: [CatalogTool]] = [:]
        var names: [String] = []
        for row in rows {
            if byName[row.name] == nil { names.append(row.name) }
            byName[row.name, default: []].append(row)
        }
        let page = names.prefix(limit).compactMap { name -> CatalogToolDTO? in
            let versions = Self.newestFirst(byName[name] ?? [])
            return versions.first.map { CatalogToolDTO($0, versions: versions.map(\.version)) }
        }
        return (page, names.count > limit ? page.last?.name : nil)
    }

    /// Tool counts per category.
    package func categories() async throws -> [ToolCategoryDTO] {
        try await database.withConnection { try await catalog.categories(on: $0) }.map { ToolCategoryDTO(category: $0.category, count: $0.count) }
    }

    /// A tool by catalog id (that version) or by name (its newest version), with its versions,
    /// its dependency chain and the personas of `user` that have it; `nil` when there is none.
    package func detail(idOrName: String, for user: AuthenticatedUser) async throws -> ToolDetailDTO? {
        try await database.withConnection { db in
            let chosen: CatalogTool?
            let versions: [CatalogTool]
            if Identifier.isValid(idOrName), let tool = try await catalog.find(id: idOrName.lowercased(), on: db) {
                chosen = tool
                versions = Self.newestFirst(try await catalog.versions(name: tool.name, on: db))
            } else {
                versions = Self.newestFirst(try await catalog.versions(name: idOrName, on: db))
                chosen = versions.first
            }
            guard let tool = chosen else { return nil }
            let chain = try await catalog.chain(toolId: tool.id, on: db)
            let personas = try await personaTools.personasWithTool(name: tool.name, visibleTo: user, on: db)
            let manifest = tool.manifest
            return ToolDetailDTO(
                id: tool.id, name: manifest.name, version: manifest.version, description: manifest.description,
                category: manifest.category, source: tool.source, builtin: manifest.builtin, requiresApproval: manifest.requiresApproval,
                timeoutMs: manifest.timeoutMs, needs: manifest.needs.map(\.rawValue), secrets: manifest.secrets,
                dependsOn: manifest.dependsOn,
                dependencyChain: chain.map(ToolDetailDTO.Link.init),
                inputSchema: manifest.inputSchema, outputSchema: manifest.outputSchema,
                versions: versions.map { .init(id: $0.id, version: $0.version, source: $0.source, createdAt: $0.createdAt) },
                personas: personas.map { .init(personaId: $0.personaId, personaName: $0.personaName, version: $0.version, enabled: $0.enabled) },
                updatedAt: tool.updatedAt)
        }
    }

    /// Versions newest first by semantic version (unparseable ones last, by text).
    static func newestFirst(_ tools: [CatalogTool]) -> [CatalogTool] {
        tools.sorted { a, b in
            switch (SemanticVersion(a.version), SemanticVersion(b.version)) {
            case let (x?, y?): return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.version > b.version
            }
        }
    }
}
