import Containers
import Foundation
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage
import SQLKit
import Synchronization

/// Custom tools: uploaded packages, stored under `STORAGE_PATH/tools/<name>/<version>/` (the
/// directory every persona container mounts read-only at `/opt/persona/custom-tools`) and
/// registered in the catalog with source `custom`.
extension ToolRegistry {
    /// Installs `package` under `root`: its files and its catalog version, both or neither.
    /// - Returns: the new catalog version.
    /// - Throws: ``APIError`` 409 `tool_exists` (the name belongs to a built-in or image tool),
    ///   409 `tool_version_exists`, 422 for a dependency that does not resolve (see
    ///   ``register(_:source:on:)``), 500 `storage_error` when the files cannot be written.
    /// - Parameter record: runs in the same transaction with the new version's id (the audit
    ///   event goes there, so a change is never left unaudited).
    package func install(_ package: ToolPackage, root: String,
                         record: @escaping @Sendable (String, any SQLDatabase) async throws -> Void = { _, _ in }) async throws -> CatalogTool {
        let manifest = package.manifest
        try Self.makeRoot(root)
        let staging = "\(root)/.staging-\(Identifier.make())"
        do {
            try package.install(into: staging)
        } catch {
            removeTree(staging)
            logger.error("tool package could not be written", metadata: ["tool": "\(manifest.name)", "error": "\(error)"])
            throw APIError(.internalServerError, code: "storage_error", "The tool package could not be stored")
        }
        let final = "\(root)/\(manifest.name)/\(manifest.version)"
        let moved = Mutex(false)
        do {
            let id = try await database.transaction { tx in
                try await lockCatalog(on: tx)
                let versions = try await catalog.versions(name: manifest.name, on: tx)
                if let other = versions.first(where: { $0.source != .custom }) {
                    throw APIError(.conflict, code: "tool_exists",
                                   "\(manifest.name) is a\(other.source == .image ? "n image" : " built-in") tool; give the custom tool a name of its own")
                }
                if versions.contains(where: { $0.version == manifest.version }) {
                    throw APIError(.conflict, code: "tool_version_exists",
                                   "\(manifest.name) \(manifest.version) is already installed; raise the version to replace it")
                }
                let registration = try await register([manifest], source: .custom, on: tx)
                guard let id = registration.ids[manifest.name] else {
                    throw APIError(.internalServerError, code: "storage_error", "The tool could not be registered")
                }
                // Into place before the commit: a version in the catalog always has its files.
                // A leftover of an earlier failed upload (never in the catalog) is replaced.
                guard mkdir("\(root)/\(manifest.name)", 0o755) == 0 || errno == EEXIST else {
                    throw APIError(.internalServerError, code: "storage_error", "The tool package could not be stored")
                }
                removeTree(final)
                guard rename(staging, final) == 0 else {
                    throw APIError(.internalServerError, code: "storage_error", "The tool package could not be stored")
                }
                moved.withLock { $0 = true }
                try await record(id, tx)
                return id
            }
            guard let tool = try await database.withConnection({ try await catalog.find(id: id, on: $0) }) else {
                throw APIError(.internalServerError, code: "storage_error", "The tool vanished after it was registered")
            }
            return tool
        } catch {
            removeTree(moved.withLock { $0 } ? final : staging)
            throw error
        }
    }

    /// Deletes one custom version: its catalog row (persona switches and edges go with it) and
    /// its files.
    /// - Throws: ``APIError`` 404, 409 `tool_not_custom` (built-in and image tools come with
    ///   their image), 409 `tool_in_use` (a call of it is running or waits for approval),
    ///   409 `tool_required` (naming the versions that depend on it).
    package func deleteVersion(name: String, version: String, root: String,
                               record: @escaping @Sendable (CatalogTool, any SQLDatabase) async throws -> Void = { _, _ in }) async throws -> CatalogTool {
        let trash = "\(root)/.deleted-\(Identifier.make())"
        let directory = "\(root)/\(name)/\(version)"
        let moved = Mutex(false)
        do {
            let tool = try await database.transaction { tx -> CatalogTool in
                try await lockCatalog(on: tx)
                guard let tool = try await catalog.versions(name: name, on: tx).first(where: { $0.version == version }) else {
                    throw APIError.notFound("Tool version")
                }
                guard tool.source == .custom else {
                    throw APIError(.conflict, code: "tool_not_custom",
                                   "\(name) \(version) comes with the persona image; only uploaded (custom) tools can be deleted")
                }
                let dependents = try await catalog.dependents(of: [tool.id], on: tx).filter { $0.depth == 1 }
                guard dependents.isEmpty else {
                    throw APIError(.conflict, code: "tool_required",
                                   "\(dependents.map { "\($0.name) \($0.version)" }.joined(separator: ", ")) depend\(dependents.count == 1 ? "s" : "") on \(name) \(version): delete or replace \(dependents.count == 1 ? "it" : "them") first")
                }
                let busy = try await catalog.activeUse(toolId: tool.id, name: name, on: tx)
                guard busy.isEmpty else {
                    throw APIError(.conflict, code: "tool_in_use", "\(name) \(version) is in use (\(busy)); try again when it is done")
                }
                try await catalog.delete(id: tool.id, on: tx)
                // Out of the directory supervisors read before the commit; back if it fails.
                if access(directory, F_OK) == 0 {
                    guard rename(directory, trash) == 0 else {
                        throw APIError(.internalServerError, code: "storage_error", "The tool's files could not be removed")
                    }
                    moved.withLock { $0 = true }
                }
                try await record(tool, tx)
                return tool
            }
            removeTree(trash)
            rmdir("\(root)/\(name)")  // only when no version is left
            changed.signal()
            return tool
        } catch {
            if moved.withLock({ $0 }) { rename(trash, directory) }
            throw error
        }
    }

    /// Serializes catalog changes across replicas (SQLite's BEGIN IMMEDIATE already does):
    /// until the transaction ends, `tools` takes no other writer and no other such lock, while
    /// reads go on. A table lock, so it is the installation's own (its schema's `tools`): an
    /// advisory lock's number is shared by every schema of the database.
    func lockCatalog(on db: any SQLDatabase) async throws {
        if database.kind == .postgres { try await db.raw("LOCK TABLE tools IN SHARE ROW EXCLUSIVE MODE").run() }
    }

    static func makeRoot(_ root: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            chmod(root, 0o755)
        } catch {
            throw APIError(.internalServerError, code: "storage_error", "The tool package directory could not be created")
        }
    }

    func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Tells running persona containers about custom tools that came or went: each supervisor
/// reads its tool directories again and the persona's tools follow what it reports.
package struct CustomToolDelivery: Sendable {
    package let registry: ToolRegistry
    package let containers: ContainerManager
    package let logger: Logger

    package init(registry: ToolRegistry, containers: ContainerManager, logger: Logger) {
        self.registry = registry
        self.containers = containers
        self.logger = logger
    }

    /// What reached the running containers.
    package struct Outcome: Codable, Sendable {
        /// Personas whose running supervisor reloaded its tools.
        package var reloaded: Int
        /// Personas whose supervisor could not be reached (they load the tools when they start).
        package var unreachable: Int
    }

    /// Reloads every ready container's tools, a few at a time, each bounded by the client's
    /// time-out.
    package func reloadRunning(trace: TraceContext) async -> Outcome {
        let records: [PersonaContainerRecord]
        do {
            records = try await registry.database.withConnection { try await containers.repository.all(on: $0) }
                .filter { $0.state == .ready && $0.desiredState == .running }
        } catch {
            logger.error("could not list containers to reload tools", metadata: ["error": "\(error)"])
            return Outcome(reloaded: 0, unreachable: 0)
        }
        let reached = await boundedConcurrentMap(records, limit: 8) { await reload($0, trace: trace) }
        return Outcome(reloaded: reached.filter { $0 }.count, unreachable: reached.filter { !$0 }.count)
    }

    private func reload(_ record: PersonaContainerRecord, trace: TraceContext) async -> Bool {
        do {
            let manifests = try await containers.supervisor(for: record).reloadTools(trace: trace)
            try await registry.database.transaction { tx in
                try await registry.syncPersona(personaId: record.personaId, manifests: manifests, now: Date(), on: tx)
            }
            return true
        } catch {
            logger.warning("a supervisor did not reload its tools", metadata: [
                "persona_id": "\(record.personaId)", "trace_id": "\(trace.traceId)", "error": "\(error)",
            ])
            return false
        }
    }
}
