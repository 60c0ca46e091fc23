import Foundation
import PersonaKit
import PersonaStorage
import SQLKit

extension ToolRegistry {
    /// Turns a persona's tool on or off and/or overrides whether its calls need approval.
    /// Turning a tool on turns on what it depends on (by name, transitively); turning one off
    /// is refused while a tool that needs it is on.
    /// - Returns: the dependencies switched on along with it, or `nil` when the persona has no
    ///   tool of that name.
    /// - Throws: ``APIError`` 409 `dependency_unavailable` (a dependency the persona's
    ///   container lacks) or `tool_required` (listing the tools that need it).
    package func updatePersonaTool(personaId: String, name: String, enabled: Bool?, requiresApproval: Bool?, now: Date,
                                   on db: any SQLDatabase) async throws -> [String]? {
        let switches = try await personaTools.switches(personaId: personaId, on: db)
        guard let tool = switches[name] else { return nil }
        var alsoEnabled: [String] = []
        if enabled == true {
            let chain = try await catalog.chain(toolId: tool.id, on: db)
            let missing = Set(chain.map(\.name)).filter { switches[$0] == nil }.sorted()
            guard missing.isEmpty else {
                throw APIError(.conflict, code: "dependency_unavailable",
                               "\(name) depends on \(missing.joined(separator: ", ")), which this persona's container does not have")
            }
            let off = Set(chain.map(\.name)).filter { switches[$0]?.enabled == false }.sorted()
            try await personaTools.setEnabled(personaId: personaId, toolIds: off.compactMap { switches[$0]?.id }, enabled: true,
                                              now: now, on: db)
            alsoEnabled = off
        } else if enabled == false {
            let versions = try await catalog.versions(name: name, on: db).map(\.id)
            let needing = Set(try await catalog.dependents(of: versions, on: db).map(\.name))
                .filter { $0 != name && switches[$0]?.enabled == true }.sorted()
            guard needing.isEmpty else {
                throw APIError(.conflict, code: "tool_required",
                               "\(needing.joined(separator: ", ")) \(needing.count == 1 ? "needs" : "need") \(name): switch "
                                   + "\(needing.count == 1 ? "it" : "them") off first")
            }
        }
        guard try await personaTools.update(personaId: personaId, name: name, enabled: enabled, requiresApproval: requiresApproval,
                                            now: now, on: db) else { return nil }
        return alsoEnabled
    }
}
