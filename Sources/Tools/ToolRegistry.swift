import Foundation
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage
import SQLKit

/// The installation-wide tool catalog: registers tool versions (from persona images, from
/// supervisors as they register, from uploads), refusing what does not resolve (a missing
/// dependency, a range no version satisfies, a cycle), and keeps the dependency edges of every
/// version pointing at the newest version each range admits.
package struct ToolRegistry: Sendable {
    package let database: Database
    package let catalog = ToolCatalogRepository()
    package let personaTools = ToolRepository()
    package let logger: Logger
    /// Signalled after a registration wrote something (the search indexer embeds it).
    package let changed = Wakeup()

    package init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What a registration did.
    package struct Registration: Sendable {
        /// Catalog id of each registered manifest, by tool name.
        package var ids: [String: String] = [:]
        /// Manifests left out, with why (lenient registrations only).
        package var refused: [String: String] = [:]
    }

    /// Registers `manifests` in one transaction: every one or none.
    /// - Parameter source: where they come from; `nil` keeps the source of versions already
    ///   registered and derives it from `builtin` for new ones.
    /// - Throws: ``APIError`` 422 naming each problem (`tool_invalid`, `dependency_missing`,
    ///   `dependency_unsatisfiable`, `dependency_cycle`).
    @discardableResult
    package func register(_ manifests: [ToolManifest], source: ToolSource?, on db: any SQLDatabase) async throws -> Registration {
        try await register(manifests, source: source, strict: true, on: db)
    }

    /// Registers what resolves of `manifests` and leaves the rest out (logged), so one broken
    /// manifest in an image does not take the others down with it.
    @discardableResult
    package func registerResolvable(_ manifests: [ToolManifest], source: ToolSource?, on db: any SQLDatabase) async throws -> Registration {
        try await register(manifests, source: source, strict: false, on: db)
    }

    /// A supervisor's registration: the reported manifests join the catalog (leniently) and
    /// become the persona's tools.
    package func syncPersona(personaId: String, manifests: [ToolManifest], now: Date, on db: any SQLDatabase) async throws {
        let registration = try await registerResolvable(manifests, source: nil, on: db)
        let custom = try await catalog.customIds(among: Array(registration.ids.values), on: db)
        try await personaTools.syncCatalog(personaId: personaId, toolIds: registration.ids,
                                           offByDefault: Set(registration.ids.filter { custom.contains($0.value) }.keys), now: now, on: db)
    }

    private func register(_ manifests: [ToolManifest], source: ToolSource?, strict: Bool,
                          on db: any SQLDatabase) async throws -> Registration {
        // A supervisor reporting the tools its image had last time (every start of every
        // container) changes nothing: answered from the catalog without the lock or a write,
        // so a hundred containers starting at once do not queue behind each other.
        if !strict, let known = try await unchanged(manifests, source: source, on: db) { return known }
        // One registration at a time across replicas (transaction-scoped): each resolves
        // against the whole catalog it read, so two at once could both insert a version.
        try await lockCatalog(on: db)
        var result = Registration()
        var candidates: [ToolManifest] = []
        for manifest in Dictionary(manifests.map { ("\($0.name)@\($0.version)", $0) }, uniquingKeysWith: { $1 }).values
            .sorted(by: { $0.name < $1.name }) {
            let problems = manifest.problems()
            if problems.isEmpty { candidates.append(manifest) } else { result.refused[manifest.name] = problems.joined(separator: "; ") }
        }
        if strict, !result.refused.isEmpty {
            throw APIError(.unprocessableContent, code: "tool_invalid",
                           result.refused.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
        }
        let stored = try await catalog.all(on: db)
        let storedByKey = Dictionary(stored.map { ("\($0.name)@\($0.version)", $0) }, uniquingKeysWith: { a, _ in a })
        let existing = ToolGraph(nodes: stored.compactMap(Self.node))
        let before = existing.resolution().problems
        // Registration is all or nothing (strict) or drops, one round at a time, the new
        // versions that have a problem the catalog did not have before they came.
        var accepted = candidates
        var graph = existing
        while true {
            graph = existing
            for manifest in accepted {
                let key = "\(manifest.name)@\(manifest.version)"
                guard let node = Self.node(id: storedByKey[key]?.id ?? "new:" + key, manifest: manifest) else { continue }
                graph.insert(node)
            }
            let problems = graph.resolution().problems.filter { id, problem in before[id] == nil || id.hasPrefix("new:") }
            guard !problems.isEmpty else { break }
            if strict {
                let sorted = problems.values.map { $0 }.sorted { $0.description < $1.description }
                throw APIError(.unprocessableContent, code: Self.code(for: sorted[0]), sorted.map(\.description).joined(separator: "; "))
            }
            let brokenNames = Set(problems.keys.compactMap { graph.nodes[$0] }.map { "\($0.name)@\($0.version)" })
            let dropped = accepted.filter { brokenNames.contains("\($0.name)@\($0.version)") }
            // Only new versions can be dropped; if the problems are all on stored ones, stop.
            guard !dropped.isEmpty else { break }
            for manifest in dropped {
                let problem = problems.first { graph.nodes[$0.key].map { "\($0.name)@\($0.version)" } == "\(manifest.name)@\(manifest.version)" }
                result.refused[manifest.name] = problem?.value.description ?? "does not resolve"
            }
            accepted.removeAll { brokenNames.contains("\($0.name)@\($0.version)") }
        }
        if !result.refused.isEmpty {
            logger.warning("tools left out of the catalog", metadata: ["refused": "\(result.refused.sorted { $0.key < $1.key })"])
        }
        // Write the versions, then every edge that changed (a new version may be the best
        // match of ranges other tools declared).
        let now = Date()
        var realIds: [String: String] = [:]
        for manifest in accepted {
            let key = "\(manifest.name)@\(manifest.version)"
            let resolvedSource = source ?? storedByKey[key]?.source ?? (manifest.builtin ? .builtin : .image)
            let id = try await catalog.upsert(manifest, source: resolvedSource, now: now, on: db)
            realIds["new:" + key] = id
            result.ids[manifest.name] = id
        }
        let edges = graph.resolution().edges
        let storedEdges = try await catalog.edges(on: db)
        for (id, targets) in edges {
            let from = realIds[id] ?? id
            let to = Set(targets.map { realIds[$0] ?? $0 })
            if storedEdges[from, default: []] != to {
                try await catalog.setDependencies(toolId: from, targets: to, on: db)
            }
        }
        if !accepted.isEmpty { changed.signal() }
        return result
    }

    /// The catalog ids of `manifests` when every one is stored already, identical (and from
    /// `source`, when given); `nil` when anything would change or be refused.
    private func unchanged(_ manifests: [ToolManifest], source: ToolSource?, on db: any SQLDatabase) async throws -> Registration? {
        guard !manifests.isEmpty else { return nil }
        let stored = try await catalog.all(on: db)
        let storedByKey = Dictionary(stored.map { ("\($0.name)@\($0.version)", $0) }, uniquingKeysWith: { a, _ in a })
        var result = Registration()
        for manifest in manifests {
            guard let tool = storedByKey["\(manifest.name)@\(manifest.version)"], tool.manifest == manifest,
                  source == nil || tool.source == source, manifest.problems().isEmpty else { return nil }
            result.ids[manifest.name] = tool.id
        }
        return result
    }

    private static func node(_ tool: CatalogTool) -> ToolGraph.Node? {
        node(id: tool.id, manifest: tool.manifest)
    }

    private static func node(id: String, manifest: ToolManifest) -> ToolGraph.Node? {
        guard let version = SemanticVersion(manifest.version) else { return nil }
        return ToolGraph.Node(id: id, name: manifest.name, version: version, dependencies: manifest.dependencies)
    }

    private static func code(for problem: ToolGraph.Problem) -> String {
        switch problem {
        case .missing, .brokenDependency: return "dependency_missing"
        case .unsatisfiable: return "dependency_unsatisfiable"
        case .cycle: return "dependency_cycle"
        }
    }
}
