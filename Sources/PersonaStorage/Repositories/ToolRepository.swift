import Foundation
import PersonaKit
import SQLKit

/// `tools`, `tool_dependencies`, `persona_tools` and `tool_runs` access.
package struct ToolRepository: Sendable {
    /// Makes the persona's tools exactly `toolIds` (name -> the catalog version its supervisor
    /// reported), carrying each tool's switch and approval override over by name (new tools
    /// start enabled, but those named in `offByDefault`: uploaded tools are switched on per
    /// persona).
    ///
    /// Only what differs is written: a tool whose version changed has its row moved to the new
    /// version in place (its switches stay in the row), a new tool gets a row, a tool gone loses
    /// its row. A registration that reports what was there already writes nothing, so it cannot
    /// overwrite a switch someone changed meanwhile.
    package func syncCatalog(personaId: String, toolIds: [String: String], offByDefault: Set<String> = [], now: Date,
                             on db: any SQLDatabase) async throws {
        var current: [String: String] = [:]  // name -> tool id
        for row in try await db.raw("""
            SELECT t.name AS name, pt.tool_id AS tool_id
            FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id WHERE pt.persona_id = \(bind: personaId)
            """).all() {
            current[try row.decode(column: "name", as: String.self)] = try row.decode(column: "tool_id", as: String.self)
        }
        for (name, id) in current where toolIds[name] == nil {
            try await db.delete(from: "persona_tools").where("persona_id", .equal, personaId).where("tool_id", .equal, id).run()
        }
        for (name, id) in toolIds.sorted(by: { $0.key < $1.key }) {
            switch current[name] {
            case id:
                continue
            case let old?:
                try await db.update("persona_tools").set("tool_id", to: id).set("updated_at", to: now)
                    .where("persona_id", .equal, personaId).where("tool_id", .equal, old).run()
            case nil:
                try await db.insert(into: "persona_tools")
                    .columns("persona_id", "tool_id", "enabled", "requires_approval", "created_at", "updated_at")
                    .values(SQLBind(personaId), SQLBind(id), SQLBind(!offByDefault.contains(name)), SQLLiteral.null,
                            SQLBind(now), SQLBind(now))
                    .run()
            }
        }
    }

    /// The persona's tools by name: the catalog version and whether it is switched on.
    package func switches(personaId: String, on db: any SQLDatabase) async throws -> [String: (id: String, enabled: Bool)] {
        var out: [String: (id: String, enabled: Bool)] = [:]
        for row in try await db.raw("""
            SELECT t.id AS id, t.name AS name, pt.enabled AS enabled FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id
            WHERE pt.persona_id = \(bind: personaId)
            """).all() {
            out[try row.decode(column: "name", as: String.self)] = (try row.decode(column: "id", as: String.self),
                                                                   try row.decode(column: "enabled", as: Bool.self))
        }
        return out
    }

    /// Switches tools of the persona on or off by catalog id.
    package func setEnabled(personaId: String, toolIds: [String], enabled: Bool, now: Date, on db: any SQLDatabase) async throws {
        guard !toolIds.isEmpty else { return }
        try await db.update("persona_tools").set("enabled", to: enabled).set("updated_at", to: now)
            .where("persona_id", .equal, personaId).where("tool_id", .in, toolIds).run()
    }

    /// The personas `user` can see that have a version of the tool `name`, with its switch.
    package func personasWithTool(name: String, visibleTo user: AuthenticatedUser,
                                  on db: any SQLDatabase) async throws -> [(personaId: String, personaName: String, version: String, enabled: Bool)] {
        let visibility: SQLQueryString = user.role == .admin ? "" : """
             AND (p.owner_id = \(bind: user.id) OR EXISTS (SELECT 1 FROM persona_members m WHERE m.persona_id = p.id AND m.user_id = \(bind: user.id)))
            """
        return try await db.raw("""
            SELECT p.id AS persona_id, p.name AS persona_name, t.version AS version, pt.enabled AS enabled
            FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id JOIN personas p ON p.id = pt.persona_id
            WHERE t.name = \(bind: name)\(visibility) ORDER BY p.name, p.id
            """).all().map {
            (try $0.decode(column: "persona_id", as: String.self), try $0.decode(column: "persona_name", as: String.self),
             try $0.decode(column: "version", as: String.self), try $0.decode(column: "enabled", as: Bool.self))
        }
    }

    package func catalog(personaId: String, on db: any SQLDatabase) async throws -> [PersonaToolDTO] {
        try await db.raw("""
            SELECT t.id AS id, t.manifest AS manifest, pt.enabled AS enabled, pt.requires_approval AS requires_approval,
                   pt.updated_at AS updated_at
            FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id WHERE pt.persona_id = \(bind: personaId) ORDER BY t.name
            """).all()
            .map { row in
                let manifest = try JSONCoding.decode(ToolManifest.self, from: try row.decode(column: "manifest", as: String.self))
                return PersonaToolDTO(id: try row.decode(column: "id", as: String.self), name: manifest.name, version: manifest.version,
                                      description: manifest.description, category: manifest.category,
                                      enabled: try row.decode(column: "enabled", as: Bool.self), builtin: manifest.builtin,
                                      requiresApproval: try row.decode(column: "requires_approval", as: Bool?.self) ?? manifest.requiresApproval,
                                      timeoutMs: manifest.timeoutMs,
                                      needs: manifest.needs.map(\.rawValue), dependsOn: manifest.dependsOn,
                                      inputSchema: manifest.inputSchema, outputSchema: manifest.outputSchema,
                                      updatedAt: try row.decode(column: "updated_at", as: Date.self))
            }
    }

    /// Turns one tool of the persona's catalog on or off and/or sets whether its calls need a
    /// person's approval in runs (overriding the manifest); `false` when it has no such tool.
    package func update(personaId: String, name: String, enabled: Bool?, requiresApproval: Bool?, now: Date, on db: any SQLDatabase) async throws -> Bool {
        let ids = try await db.raw("""
            SELECT t.id AS id FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id
            WHERE pt.persona_id = \(bind: personaId) AND t.name = \(bind: name)
            """).all()
            .map { try $0.decode(column: "id", as: String.self) }
        guard !ids.isEmpty else { return false }
        var update = db.update("persona_tools").set("updated_at", to: now)
        if let enabled { update = update.set("enabled", to: enabled) }
        if let requiresApproval { update = update.set("requires_approval", to: requiresApproval) }
        try await update.where("persona_id", .equal, personaId).where("tool_id", .in, ids).run()
        return true
    }

    package static let runColumns = ["id", "persona_id", "tool_name", "run_id", "user_id", "idempotency_key", "invocation_id", "status",
                             "input", "output", "error_code", "exit_code", "duration_ms", "stderr_tail", "artifacts", "trace_id",
                             "created_at", "finished_at"]

    /// Starts a tool run; returns the existing one when the idempotency key was used before.
    package func beginRun(id: String, personaId: String, tool: String, toolId: String?, runId: String?, userId: String?,
                  idempotencyKey: String, input: JSONValue, traceId: String, now: Date, on db: any SQLDatabase) async throws -> ToolRun {
        if let existing = try await run(personaId: personaId, idempotencyKey: idempotencyKey, on: db) { return existing }
        try await db.insert(into: "tool_runs")
            .columns("id", "persona_id", "tool_name", "tool_id", "run_id", "user_id", "idempotency_key", "status", "input",
                     "trace_id", "created_at")
            .values(SQLBind(id), SQLBind(personaId), SQLBind(tool), SQLBind(toolId), SQLBind(runId), SQLBind(userId),
                    SQLBind(idempotencyKey), SQLBind("running"), SQLBind(try JSONCoding.encodeString(input)),
                    SQLBind(traceId), SQLBind(now))
            .run()
        guard let run = try await find(id: id, on: db) else { throw StorageError(.failed, "tool run vanished after insert") }
        return run
    }

    /// Records how a run ended. Only a run still `running` (or one whose supervisor could not
    /// be reached, so it may have run after all) changes: a late duplicate (the supervisor's
    /// event after the API already recorded the result) is harmless.
    @discardableResult
    package func finishRun(personaId: String, idempotencyKey: String, result: InvocationResult, now: Date,
                   on db: any SQLDatabase) async throws -> Bool {
        try await db.update("tool_runs")
            .set("status", to: result.status.rawValue).set("invocation_id", to: result.id)
            .set("output", to: try JSONCoding.encodeString(result.output)).set("error_code", to: result.errorCode)
            .set("exit_code", to: result.exitCode).set("duration_ms", to: result.durationMs)
            .set("stderr_tail", to: result.stderrTail).set("artifacts", to: try JSONCoding.encodeString(result.artifacts))
            .set("finished_at", to: now)
            .where("persona_id", .equal, personaId).where("idempotency_key", .equal, idempotencyKey)
            .where(SQLRaw("(status = 'running' OR error_code = 'supervisor_unavailable')")).returning("id").first() != nil
    }

    /// Ends a run that never reached the supervisor (container down, invalid arguments...).
    package func failRun(id: String, code: String, message: String, now: Date, on db: any SQLDatabase) async throws {
        try await db.update("tool_runs").set("status", to: InvocationStatus.failed.rawValue).set("error_code", to: code)
            .set("output", to: try JSONCoding.encodeString(JSONValue.object(["error": .string(message)])))
            .set("finished_at", to: now).where("id", .equal, id).where("status", .equal, "running").run()
    }

    package func find(id: String, on db: any SQLDatabase) async throws -> ToolRun? {
        try await db.select().columns(Self.runColumns.map { SQLColumn($0) }).from("tool_runs")
            .where("id", .equal, id).first().map(ToolRun.init(row:))
    }

    package func run(personaId: String, idempotencyKey: String, on db: any SQLDatabase) async throws -> ToolRun? {
        try await db.select().columns(Self.runColumns.map { SQLColumn($0) }).from("tool_runs")
            .where("persona_id", .equal, personaId).where("idempotency_key", .equal, idempotencyKey).first().map(ToolRun.init(row:))
    }

    package func runs(personaId: String, cursor: String?, limit: Int, on db: any SQLDatabase) async throws -> [ToolRun] {
        var query = db.select().columns(Self.runColumns.map { SQLColumn($0) }).from("tool_runs").where("persona_id", .equal, personaId)
        if let cursor { query = query.where("id", .lessThan, cursor) }
        return try await query.orderBy("id", .descending).limit(limit).all().map(ToolRun.init(row:))
    }

    /// The tool id of a persona's tool by name (the newest version it reported).
    package func toolId(personaId: String, name: String, on db: any SQLDatabase) async throws -> (id: String, enabled: Bool)? {
        guard let row = try await db.raw("""
            SELECT t.id AS id, pt.enabled AS enabled FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id
            WHERE pt.persona_id = \(bind: personaId) AND t.name = \(bind: name)
            """).first() else { return nil }
        return (try row.decode(column: "id", as: String.self), try row.decode(column: "enabled", as: Bool.self))
    }

    package init() {

    }
}
