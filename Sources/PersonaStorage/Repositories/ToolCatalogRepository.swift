import Foundation
import PersonaKit
import SQLKit

/// `tools` and `tool_dependencies`: the installation-wide catalog, every version of every
/// tool, and the resolved dependency edges between versions.
package struct ToolCatalogRepository: Sendable {
    package init() {}

    /// Every tool version (the catalog is small: a few hundred to a few thousand rows).
    package func all(on db: any SQLDatabase) async throws -> [CatalogTool] {
        try await db.select().columns(CatalogTool.columns.map { SQLColumn($0) }).from("tools").orderBy("name").all()
            .map(CatalogTool.init(row:))
    }

    /// Tool versions matching the filters, by name: `category` and `source` exactly, `query` as
    /// a case-insensitive substring of the name or description; names after `after` only.
    package func matching(category: String?, source: ToolSource?, query: String?, after: String?,
                          on db: any SQLDatabase) async throws -> [CatalogTool] {
        var select = db.select().columns(CatalogTool.columns.map { SQLColumn($0) }).from("tools")
        if let category { select = select.where("category", .equal, category) }
        if let source { select = select.where("source", .equal, source.rawValue) }
        if let query, !query.isEmpty {
            let pattern = "%" + query.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            select = select.where(SQLQueryString(
                "(LOWER(name) LIKE \(bind: pattern) ESCAPE '\\' OR LOWER(description) LIKE \(bind: pattern) ESCAPE '\\')"))
        }
        if let after { select = select.where("name", .greaterThan, after) }
        return try await select.orderBy("name").all().map(CatalogTool.init(row:))
    }

    /// Every version of the tool named `name`.
    package func versions(name: String, on db: any SQLDatabase) async throws -> [CatalogTool] {
        try await db.select().columns(CatalogTool.columns.map { SQLColumn($0) }).from("tools").where("name", .equal, name).all()
            .map(CatalogTool.init(row:))
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> CatalogTool? {
        try await db.select().columns(CatalogTool.columns.map { SQLColumn($0) }).from("tools").where("id", .equal, id).first()
            .map(CatalogTool.init(row:))
    }

    /// Tool names per category (a tool counts once, whatever its versions).
    package func categories(on db: any SQLDatabase) async throws -> [(category: String, count: Int)] {
        try await db.raw("SELECT category, COUNT(DISTINCT name) AS n FROM tools GROUP BY category ORDER BY category").all().map {
            (try $0.decode(column: "category", as: String.self), try $0.decode(column: "n", as: Int.self))
        }
    }

    /// Inserts a version or, when (name, version) exists, replaces its manifest and source.
    /// - Returns: the version's id.
    package func upsert(_ manifest: ToolManifest, source: ToolSource, now: Date, on db: any SQLDatabase) async throws -> String {
        let text = try JSONCoding.encodeString(manifest)
        if let row = try await db.update("tools").set("manifest", to: text).set("description", to: manifest.description)
            .set("category", to: manifest.category).set("builtin", to: manifest.builtin).set("source", to: source.rawValue)
            .set("requires_approval", to: manifest.requiresApproval).set("updated_at", to: now)
            .where("name", .equal, manifest.name).where("version", .equal, manifest.version).returning("id").first() {
            return try row.decode(column: "id", as: String.self)
        }
        let id = Identifier.make()
        try await db.insert(into: "tools")
            .columns("id", "name", "version", "description", "category", "manifest", "builtin", "requires_approval", "source",
                     "created_at", "updated_at")
            .values(SQLBind(id), SQLBind(manifest.name), SQLBind(manifest.version), SQLBind(manifest.description),
                    SQLBind(manifest.category), SQLBind(text), SQLBind(manifest.builtin), SQLBind(manifest.requiresApproval),
                    SQLBind(source.rawValue), SQLBind(now), SQLBind(now))
            .run()
        return id
    }

    /// Deletes a version; its persona switches, embeddings and edges go with it (cascades).
    package func delete(id: String, on db: any SQLDatabase) async throws {
        try await db.delete(from: "tools").where("id", .equal, id).run()
    }

    /// What uses a version right now, described (empty: nothing): calls of it still running,
    /// and runs waiting for a person to approve a call of a tool of that name.
    package func activeUse(toolId: String, name: String, on db: any SQLDatabase) async throws -> String {
        let row = try await db.raw("""
            SELECT (SELECT COUNT(*) FROM tool_runs WHERE tool_id = \(bind: toolId) AND status = 'running') AS calls,
                   (SELECT COUNT(*) FROM run_approvals a JOIN runs r ON r.id = a.run_id
                    WHERE a.tool = \(bind: name) AND a.status = 'pending' AND r.status = 'awaiting_approval') AS approvals
            """).first()
        let calls = try row?.decode(column: "calls", as: Int.self) ?? 0
        let approvals = try row?.decode(column: "approvals", as: Int.self) ?? 0
        var parts: [String] = []
        if calls > 0 { parts.append("\(calls) call\(calls == 1 ? "" : "s") running") }
        if approvals > 0 { parts.append("\(approvals) run\(approvals == 1 ? "" : "s") waiting to approve a call") }
        return parts.joined(separator: ", ")
    }

    /// Which of `ids` are uploaded (custom) versions.
    package func customIds(among ids: [String], on db: any SQLDatabase) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try await db.select().column("id").from("tools").where("id", .in, ids).where("source", .equal, ToolSource.custom.rawValue)
            .all().map { try $0.decode(column: "id", as: String.self) })
    }

    /// Every stored dependency edge: tool id -> the ids it depends on.
    package func edges(on db: any SQLDatabase) async throws -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for row in try await db.select().columns("tool_id", "depends_on_id").from("tool_dependencies").all() {
            out[try row.decode(column: "tool_id", as: String.self), default: []]
                .insert(try row.decode(column: "depends_on_id", as: String.self))
        }
        return out
    }

    /// Makes `toolId`'s dependency edges exactly `targets`.
    package func setDependencies(toolId: String, targets: Set<String>, on db: any SQLDatabase) async throws {
        try await db.delete(from: "tool_dependencies").where("tool_id", .equal, toolId).run()
        for target in targets.sorted() {
            try await db.insert(into: "tool_dependencies").columns("tool_id", "depends_on_id")
                .values(SQLBind(toolId), SQLBind(target)).run()
        }
    }

    /// Every tool `toolId` depends on, transitively, in install order (see ``chains(of:on:)``).
    package func chain(toolId: String, on db: any SQLDatabase) async throws -> [ToolChainLink] {
        try await chains(of: [toolId], on: db)[toolId] ?? []
    }

    /// For each of `toolIds`, every tool it depends on, transitively, with the longest path to
    /// it: one recursive query for all of them. Each chain is ordered for installation: deepest
    /// first, so each tool comes after all it needs (an edge a -> b gives b a longer longest
    /// path than a).
    package func chains(of toolIds: [String], on db: any SQLDatabase) async throws -> [String: [ToolChainLink]] {
        guard !toolIds.isEmpty else { return [:] }
        // The depth bound stops the recursion even if a cycle slipped into the table.
        let rows = try await db.raw("""
            WITH RECURSIVE chain(root, id, depth) AS (
              SELECT tool_id, depends_on_id, 1 FROM tool_dependencies WHERE tool_id IN (\(binds: toolIds))
              UNION
              SELECT c.root, d.depends_on_id, c.depth + 1 FROM tool_dependencies d JOIN chain c ON d.tool_id = c.id WHERE c.depth < 64
            )
            SELECT c.root AS root, t.id AS id, t.name AS name, t.version AS version, MAX(c.depth) AS depth
            FROM chain c JOIN tools t ON t.id = c.id GROUP BY c.root, t.id, t.name, t.version
            ORDER BY c.root, MAX(c.depth) DESC, t.name
            """).all()
        var out: [String: [ToolChainLink]] = [:]
        for row in rows {
            out[try row.decode(column: "root", as: String.self), default: []].append(
                ToolChainLink(id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                              version: try row.decode(column: "version", as: String.self),
                              depth: try row.decode(column: "depth", as: Int.self)))
        }
        return out
    }

    /// Counts and latest change times of the catalog and its vectors under `model`: when this
    /// changes, an index built from them is stale.
    package func signature(model: String, on db: any SQLDatabase) async throws -> String {
        let row = try await db.raw("""
            SELECT (SELECT COUNT(*) FROM tools) AS tools, (SELECT MAX(updated_at) FROM tools) AS changed,
                   (SELECT COUNT(*) FROM tool_embeddings WHERE model = \(bind: model)) AS vectors,
                   (SELECT MAX(created_at) FROM tool_embeddings WHERE model = \(bind: model)) AS embedded
            """).first()
        guard let row else { return "" }
        let changed = try row.decode(column: "changed", as: Date?.self)?.timeIntervalSince1970 ?? 0
        let embedded = try row.decode(column: "embedded", as: Date?.self)?.timeIntervalSince1970 ?? 0
        return "\(try row.decode(column: "tools", as: Int.self))/\(changed)/\(try row.decode(column: "vectors", as: Int.self))/\(embedded)"
    }

    /// The tool versions that depend on any of `toolIds`, transitively (one recursive query).
    package func dependents(of toolIds: [String], on db: any SQLDatabase) async throws -> [ToolChainLink] {
        guard !toolIds.isEmpty else { return [] }
        return try await db.raw("""
            WITH RECURSIVE up(id, depth) AS (
              SELECT tool_id, 1 FROM tool_dependencies WHERE depends_on_id IN (\(binds: toolIds))
              UNION
              SELECT d.tool_id, u.depth + 1 FROM tool_dependencies d JOIN up u ON d.depends_on_id = u.id WHERE u.depth < 64
            )
            SELECT t.id AS id, t.name AS name, t.version AS version, MAX(u.depth) AS depth
            FROM up u JOIN tools t ON t.id = u.id GROUP BY t.id, t.name, t.version ORDER BY t.name
            """).all().map {
            ToolChainLink(id: try $0.decode(column: "id", as: String.self), name: try $0.decode(column: "name", as: String.self),
                          version: try $0.decode(column: "version", as: String.self), depth: try $0.decode(column: "depth", as: Int.self))
        }
    }
}
