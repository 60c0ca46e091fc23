import PersonaKit
import PersonaStorage

/// The OpenAPI 3.1 document served at `/openapi.json`. Tests check that it lists exactly the
/// router's routes and that every response the API gives matches the schema documented here.
enum OpenAPIDocument {
    struct Operation {
        var method: String
        var path: String
        var summary: String
        var tag: String
        var authenticated = true
        var body: String? = nil
        /// status -> component schema name (`nil`: no body); `"[X]"` is a paged list of X.
        var responses: [Int: String?]
        var query: [String] = []
    }

    static let paged = ["limit", "cursor"]

    static let operations: [Operation] = [
        Operation(method: "get", path: "/healthz", summary: "Liveness", tag: "ops", authenticated: false, responses: [200: "Health"]),
        Operation(method: "get", path: "/readyz", summary: "Readiness (database reachable)", tag: "ops", authenticated: false,
                  responses: [200: "Health", 503: "Error"]),
        Operation(method: "get", path: "/metrics", summary: "Prometheus metrics", tag: "ops", authenticated: false, responses: [200: nil]),
        Operation(method: "get", path: "/openapi.json", summary: "This document", tag: "ops", authenticated: false, responses: [200: nil]),
        Operation(method: "post", path: "/api/auth/login", summary: "Log in", tag: "auth", authenticated: false,
                  body: "LoginRequest", responses: [200: "TokenPair", 400: "Error", 401: "Error", 413: "Error", 429: "Error"]),
        Operation(method: "post", path: "/api/auth/refresh", summary: "Rotate a refresh token", tag: "auth", authenticated: false,
                  body: "RefreshRequest", responses: [200: "TokenPair", 400: "Error", 401: "Error", 413: "Error", 429: "Error"]),
        Operation(method: "post", path: "/api/auth/logout", summary: "End this session", tag: "auth", responses: [204: nil]),
        Operation(method: "post", path: "/api/auth/session",
                  summary: "Log in from the web console: the refresh token goes into an HttpOnly SameSite=Strict cookie (persona_refresh, path /api/auth/session), not the body; needs X-CSRF-Token equal to the persona_csrf cookie",
                  tag: "auth", authenticated: false, body: "LoginRequest",
                  responses: [200: "SessionTokens", 400: "Error", 401: "Error", 403: "Error", 413: "Error", 429: "Error"]),
        Operation(method: "post", path: "/api/auth/session/refresh",
                  summary: "Rotate the console's refresh cookie for a new access token (needs X-CSRF-Token); a stale cookie is cleared with the 401",
                  tag: "auth", authenticated: false, responses: [200: "SessionTokens", 401: "Error", 403: "Error", 429: "Error"]),
        Operation(method: "delete", path: "/api/auth/session", summary: "Log out of the console: ends the session and clears its cookie",
                  tag: "auth", responses: [204: nil]),
        Operation(method: "get", path: "/api/users/me", summary: "The current user", tag: "users", responses: [200: "User"]),
        Operation(method: "patch", path: "/api/users/me", summary: "Change own name or password", tag: "users",
                  body: "UpdateMeRequest", responses: [200: "User", 400: "Error", 403: "Error"]),
        Operation(method: "get", path: "/api/admin/users", summary: "List users", tag: "admin",
                  responses: [200: "[User]", 400: "Error", 403: "Error"], query: paged),
        Operation(method: "post", path: "/api/admin/users", summary: "Create a user", tag: "admin", body: "CreateUserRequest",
                  responses: [201: "User", 400: "Error", 403: "Error", 409: "Error"]),
        Operation(method: "get", path: "/api/admin/users/{id}", summary: "Get a user", tag: "admin",
                  responses: [200: "User", 403: "Error", 404: "Error"]),
        Operation(method: "patch", path: "/api/admin/users/{id}", summary: "Update or disable a user", tag: "admin",
                  body: "UpdateUserRequest", responses: [200: "User", 400: "Error", 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "delete", path: "/api/admin/users/{id}", summary: "Delete a user", tag: "admin",
                  responses: [204: nil, 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "get", path: "/api/admin/settings", summary: "Platform settings", tag: "admin",
                  responses: [200: "Settings", 403: "Error"]),
        Operation(method: "put", path: "/api/admin/settings", summary: "Change platform settings", tag: "admin",
                  body: "UpdateSettingsRequest", responses: [200: "Settings", 400: "Error", 403: "Error"]),
        Operation(method: "get", path: "/api/audit", summary: "Audit trail", tag: "admin",
                  responses: [200: "[AuditEvent]", 400: "Error", 403: "Error"],
                  query: paged + ["userId", "personaId", "type", "traceId", "from", "to"]),
        Operation(method: "post", path: "/api/personas", summary: "Create a persona", tag: "personas", body: "CreatePersonaRequest",
                  responses: [201: "Persona", 400: "Error", 403: "Error", 413: "Error", 422: "Error"]),
        Operation(method: "get", path: "/api/personas", summary: "Personas visible to you", tag: "personas",
                  responses: [200: "[Persona]", 400: "Error"], query: paged),
        Operation(method: "get", path: "/api/personas/{id}", summary: "Get a persona", tag: "personas",
                  responses: [200: "Persona", 404: "Error"]),
        Operation(method: "patch", path: "/api/personas/{id}", summary: "Update a persona (editor)", tag: "personas",
                  body: "UpdatePersonaRequest", responses: [200: "Persona", 400: "Error", 403: "Error", 404: "Error", 413: "Error"]),
        Operation(method: "delete", path: "/api/personas/{id}", summary: "Delete a persona (owner)", tag: "personas",
                  responses: [204: nil, 403: "Error", 404: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/members", summary: "List members", tag: "members",
                  responses: [200: "Member[]", 404: "Error"]),
        Operation(method: "post", path: "/api/personas/{id}/members", summary: "Add a member or change a role (owner)", tag: "members",
                  body: "AddMemberRequest", responses: [200: "Member", 201: "Member", 400: "Error", 403: "Error", 404: "Error",
                                                        409: "Error", 422: "Error"]),
        Operation(method: "delete", path: "/api/personas/{id}/members/{userId}", summary: "Remove a member (owner, or yourself)",
                  tag: "members", responses: [204: nil, 403: "Error", 404: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/secrets", summary: "List secret names", tag: "secrets",
                  responses: [200: "Secret[]", 404: "Error"]),
        Operation(method: "put", path: "/api/personas/{id}/secrets/{name}", summary: "Store a secret (write-only, editor)",
                  tag: "secrets", body: "PutSecretRequest",
                  responses: [200: "Secret", 201: "Secret", 400: "Error", 403: "Error", 404: "Error", 413: "Error"]),
        Operation(method: "delete", path: "/api/personas/{id}/secrets/{name}", summary: "Delete a secret (editor)", tag: "secrets",
                  responses: [204: nil, 400: "Error", 403: "Error", 404: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/connectors",
                  summary: "List connectors: the persona's email connectors (credentials never returned) and read-only browser and desktop views of its runtime",
                  tag: "connectors", responses: [200: "Connector[]", 404: "Error"]),
        Operation(method: "post", path: "/api/personas/{id}/connectors",
                  summary: "Create an email connector (editor): IMAP and SMTP servers, sealed passwords, sender, folders, a CA to trust, an optional trigger that starts a run per new message",
                  tag: "connectors", body: "CreateConnectorRequest",
                  responses: [201: "Connector", 400: "Error", 403: "Error", 404: "Error", 409: "Error", 413: "Error", 422: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/connectors/{connectorId}", summary: "Get a connector (browser and desktop are ids too)",
                  tag: "connectors", responses: [200: "Connector", 404: "Error"]),
        Operation(method: "patch", path: "/api/personas/{id}/connectors/{connectorId}",
                  summary: "Change an email connector (editor); passwords are write-only; trigger null removes the trigger",
                  tag: "connectors", body: "UpdateConnectorRequest",
                  responses: [200: "Connector", 400: "Error", 403: "Error", 404: "Error", 409: "Error", 413: "Error", 422: "Error"]),
        Operation(method: "delete", path: "/api/personas/{id}/connectors/{connectorId}", summary: "Delete an email connector (editor)",
                  tag: "connectors", responses: [204: nil, 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "post", path: "/api/personas/{id}/connectors/{connectorId}/test",
                  summary: "Connect and log in to both servers now (editor): ok, auth_failed, tls_failed, unreachable or timeout, per server, without secrets",
                  tag: "connectors", responses: [200: "ConnectorTestResult", 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/container", summary: "Container status (state, health, usage; paused or stopped for idleness: idleSince, pausedAt, idleStoppedAt)",
                  tag: "containers", responses: [200: "ContainerStatus", 404: "Error", 502: "Error", 503: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/health",
                  summary: "The persona container's health samples (CPU, memory, pids, I/O, workspace, LLM calls and tokens, runs, tool calls) from since to until (default the last hour), merged into buckets of step seconds when asked",
                  tag: "containers", responses: [200: "HealthSeries", 400: "Error", 404: "Error"], query: ["since", "until", "step"]),
        Operation(method: "get", path: "/api/personas/{id}/alerts",
                  summary: "The persona's alerts (cpu_high, memory_high, heartbeat_missed, restarted, ingestion_failed), newest first; status=open|resolved filters",
                  tag: "containers", responses: [200: "Alert[]", 400: "Error", 404: "Error"], query: ["status"]),
        Operation(method: "get", path: "/api/admin/health", summary: "Every persona's latest health sample and open alerts (admin)",
                  tag: "admin", responses: [200: "AdminHealth", 403: "Error"]),
        Operation(method: "get", path: "/api/dashboard",
                  summary: "The dashboard's cards over the personas you see (admins: all): personas by state, runs, tool calls, approvals waiting, memory, LLM calls and tokens by model, open alerts, with 14 daily and today's hourly series in the time zone tz (IANA, default UTC)",
                  tag: "ops", responses: [200: "Dashboard", 400: "Error"], query: ["tz"]),
        Operation(method: "post", path: "/api/personas/{id}/container/start",
                  summary: "Start the persona's container (idempotent; ?wait=SECONDS waits for the supervisor)", tag: "containers",
                  responses: [200: "ContainerStatus", 202: "ContainerStatus", 400: "Error", 403: "Error", 404: "Error", 409: "Error",
                              500: "Error", 502: "Error", 503: "Error"], query: ["wait"]),
        Operation(method: "post", path: "/api/personas/{id}/container/stop", summary: "Stop the container (workspace and cache stay)",
                  tag: "containers", responses: [200: "ContainerStatus", 403: "Error", 404: "Error", 502: "Error", 503: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/tools", summary: "The persona's tool catalog (reported by its supervisor)",
                  tag: "tools", responses: [200: "PersonaTool[]", 404: "Error"]),
        Operation(method: "patch", path: "/api/personas/{id}/tools/{name}",
                  summary: "Turn a tool on (with what it depends on) or off (refused while a tool that needs it is on) for the persona (editor)",
                  tag: "tools", body: "ToolPatchRequest", responses: [200: "PersonaTool", 400: "Error", 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "get", path: "/api/tools", summary: "The installation's tool catalog, one entry per tool (its newest version), by name",
                  tag: "tools", responses: [200: "[CatalogTool]", 400: "Error"], query: paged + ["category", "q", "source"]),
        Operation(method: "post", path: "/api/tools",
                  summary: "Upload a custom tool package (admin): a .tar.gz or .zip with tool.json, its executable and files, as multipart/form-data field \"package\" or as the body itself (application/gzip, application/zip); running containers pick it up at once",
                  tag: "tools", body: "@package",
                  responses: [201: "ToolUpload", 400: "Error", 403: "Error", 409: "Error", 413: "Error", 415: "Error", 422: "Error",
                              500: "Error"]),
        Operation(method: "delete", path: "/api/tools/{idOrName}/versions/{version}",
                  summary: "Delete a custom tool version (admin; {idOrName} is the tool's name) that no call is using and no other tool depends on",
                  tag: "tools", responses: [200: "ToolDeleted", 403: "Error", 404: "Error", 409: "Error", 500: "Error"]),
        Operation(method: "get", path: "/api/tools/search",
                  summary: "Tools ranked for a request (hybrid: embeddings and keywords; a tool named in the query comes first), each with its dependency chain; personaId keeps that persona's enabled tools",
                  tag: "tools", responses: [200: "ToolSearchResult[]", 400: "Error", 404: "Error"], query: ["q", "limit", "personaId"]),
        Operation(method: "get", path: "/api/tools/categories", summary: "Tool categories with the number of tools in each", tag: "tools",
                  responses: [200: "ToolCategory[]"]),
        Operation(method: "get", path: "/api/tools/{idOrName}",
                  summary: "A tool by catalog id (that version) or name (its newest): versions, schemas, dependency chain, your personas that have it",
                  tag: "tools", responses: [200: "ToolDetail", 404: "Error"]),
        Operation(method: "post", path: "/api/personas/{id}/tools/{name}/invoke",
                  summary: "Run a tool in the persona's container (editor; starts it, or wakes it from an idle pause, on demand)", tag: "tools",
                  body: "InvokeToolRequest", responses: [200: "ToolRun", 400: "Error", 403: "Error", 404: "Error", 409: "Error",
                                                         413: "Error", 500: "Error", 502: "Error", 503: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/tool-runs", summary: "The persona's tool runs, newest first", tag: "tools",
                  responses: [200: "[ToolRun]", 400: "Error", 404: "Error"], query: paged),
        Operation(method: "get", path: "/api/personas/{id}/tool-runs/{runId}", summary: "One tool run", tag: "tools",
                  responses: [200: "ToolRun", 404: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/tool-runs/{runId}/artifacts/{index}",
                  summary: "A file the tool run produced (a screenshot PNG, ...), as raw bytes", tag: "tools",
                  responses: [200: "@binary", 400: "Error", 404: "Error", 409: "Error", 503: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/runtime", summary: "Which image and sidecars the persona's container runs",
                  tag: "containers", responses: [200: "Runtime", 404: "Error"]),
        Operation(method: "put", path: "/api/personas/{id}/runtime",
                  summary: "Choose the image (standard or desktop), eager sidecars, a headed browser, the sidecar idle time (editor; applies on the next container start)",
                  tag: "containers", body: "RuntimeRequest", responses: [200: "Runtime", 400: "Error", 403: "Error", 404: "Error", 422: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/desktop",
                  summary: "How to connect to the persona's VNC desktop: loopback host, port and password (editor)", tag: "containers",
                  responses: [200: "Desktop", 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "post", path: "/api/personas/{id}/memory/upload",
                  summary: "Upload a document to memory (editor; multipart/form-data field \"file\", optional \"name\"; ingested in the background)",
                  tag: "memory", body: "@multipart", responses: [201: "Document", 400: "Error", 403: "Error", 404: "Error", 413: "Error",
                                                               415: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/memory", summary: "The persona's documents with ingestion status, newest first",
                  tag: "memory", responses: [200: "[Document]", 400: "Error", 404: "Error"], query: paged),
        Operation(method: "get", path: "/api/personas/{id}/memory/search",
                  summary: "Semantic search over the persona's memory (curated chunks get a bounded boost)", tag: "memory",
                  responses: [200: "MemoryChunk[]", 400: "Error", 404: "Error", 503: "Error"], query: ["q", "limit"]),
        Operation(method: "get", path: "/api/personas/{id}/memory/{documentId}", summary: "One document with its chunks", tag: "memory",
                  responses: [200: "DocumentDetail", 404: "Error"]),
        Operation(method: "delete", path: "/api/personas/{id}/memory/{documentId}",
                  summary: "Delete a document and its chunks (editor)", tag: "memory", responses: [204: nil, 403: "Error", 404: "Error"]),
        Operation(method: "get", path: "/api/personas/{id}/agents", summary: "List a persona's agents", tag: "agents",
                  responses: [200: "Agent[]", 404: "Error"]),
        Operation(method: "post", path: "/api/personas/{id}/agents", summary: "Create an agent (editor)", tag: "agents",
                  body: "CreateAgentRequest", responses: [201: "Agent", 400: "Error", 403: "Error", 404: "Error"]),
        Operation(method: "get", path: "/api/agents/{id}", summary: "Get an agent", tag: "agents", responses: [200: "Agent", 404: "Error"]),
        Operation(method: "patch", path: "/api/agents/{id}", summary: "Update an agent (editor)", tag: "agents",
                  body: "UpdateAgentRequest", responses: [200: "Agent", 400: "Error", 403: "Error", 404: "Error"]),
        Operation(method: "delete", path: "/api/agents/{id}", summary: "Delete an agent (editor)", tag: "agents",
                  responses: [204: nil, 403: "Error", 404: "Error"]),
        Operation(method: "post", path: "/api/runs", summary: "Queue a run of an agent (editor)", tag: "runs", body: "CreateRunRequest",
                  responses: [201: "Run", 400: "Error", 403: "Error", 422: "Error"]),
        Operation(method: "get", path: "/api/runs", summary: "Runs visible to you", tag: "runs",
                  responses: [200: "[Run]", 400: "Error"], query: paged + ["personaId", "agentId", "status"]),
        Operation(method: "get", path: "/api/runs/{id}", summary: "A run with its step timeline", tag: "runs",
                  responses: [200: "RunDetail", 404: "Error"]),
        Operation(method: "post", path: "/api/runs/{id}/cancel", summary: "Cancel a run (editor)", tag: "runs",
                  responses: [202: "Run", 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "post", path: "/api/runs/{id}/approve",
                  summary: "Approve or reject the tool calls a run waits on (editor); the run goes on", tag: "runs",
                  body: "ApproveRunRequest", responses: [200: "Run", 400: "Error", 403: "Error", 404: "Error", 409: "Error"]),
        Operation(method: "get", path: "/api/runs/{id}/events", summary: "Live run events (Server-Sent Events, resumable with Last-Event-ID)",
                  tag: "runs", responses: [200: "@sse", 404: "Error"], query: ["lastEventId"]),
    ]

    /// Status codes any operation may answer besides its own: the auth check, rate limit,
    /// body limits and server trouble.
    static func commonStatuses(_ op: Operation) -> [Int] {
        var statuses = [429, 500, 503]
        if op.authenticated { statuses.append(401) }
        if op.body != nil { statuses += [400, 413] }
        return statuses
    }

    /// The response body schema for one operation and status, as the document states it.
    static func responseSchema(_ name: String?) -> JSONValue? {
        guard let name, !name.hasPrefix("@") else { return nil }
        if name.hasPrefix("[") {
            let item = String(name.dropFirst().dropLast())
            return OpenAPISchemas.object(["data": ["type": "array", "items": OpenAPISchemas.ref(item)],
                                          "nextCursor": ["type": ["string", "null"]]], required: ["data"])
        }
        if name.hasSuffix("[]") {
            return OpenAPISchemas.object(["data": ["type": "array", "items": OpenAPISchemas.ref(String(name.dropLast(2)))]])
        }
        if name == "Error" || name == "Health" { return OpenAPISchemas.ref(name) }
        return OpenAPISchemas.object(["data": OpenAPISchemas.ref(name)])
    }

    static let document: JSONValue = {
        var paths: [String: JSONValue] = [:]
        for op in operations {
            var responses: [String: JSONValue] = [:]
            var statuses = op.responses
            for status in commonStatuses(op) where statuses[status] == nil { statuses[status] = "Error" }
            for (status, schemaName) in statuses.sorted(by: { $0.key < $1.key }) {
                var response: [String: JSONValue] = ["description": .string(describe(status))]
                if let schema = responseSchema(schemaName) {
                    response["content"] = ["application/json": ["schema": schema]]
                } else if op.path == "/metrics" {
                    response["content"] = ["text/plain": ["schema": ["type": "string"]]]
                } else if schemaName == "@sse" {
                    response["content"] = ["text/event-stream": ["schema": ["type": "string"]]]
                } else if schemaName == "@binary" {
                    response["content"] = ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]
                } else if op.path == "/openapi.json" {
                    response["content"] = ["application/json": ["schema": ["type": "object"]]]
                }
                responses[String(status)] = .object(response)
            }
            var operation: [String: JSONValue] = [
                "summary": .string(op.summary), "tags": [.string(op.tag)], "responses": .object(responses),
                "operationId": .string(op.method + op.path.split(separator: "/").map { $0.replacing("{", with: "by_").replacing("}", with: "") }
                    .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined().replacing(".", with: "")),
            ]
            var parameters: [JSONValue] = op.path.split(separator: "/").filter { $0.hasPrefix("{") }.map {
                ["name": .string(String($0.dropFirst().dropLast())), "in": "path", "required": true, "schema": ["type": "string"]]
            }
            parameters += op.query.map { ["name": .string($0), "in": "query", "required": false, "schema": ["type": "string"]] }
            if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
            if op.body == "@multipart" {
                operation["requestBody"] = ["required": true, "content": ["multipart/form-data": ["schema": OpenAPISchemas.object(
                    ["file": ["type": "string", "format": "binary"], "name": ["type": "string", "maxLength": 255]], required: ["file"])]]]
            } else if op.body == "@package" {
                let archive: JSONValue = ["type": "string", "format": "binary"]
                operation["requestBody"] = ["required": true, "content": [
                    "multipart/form-data": ["schema": OpenAPISchemas.object(["package": archive], required: ["package"])],
                    "application/gzip": ["schema": archive], "application/zip": ["schema": archive],
                ]]
            } else if let body = op.body {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": OpenAPISchemas.ref(body)]]]
            }
            operation["security"] = op.authenticated ? [["bearerAuth": []]] : []
            var item = paths[op.path]?.objectValue ?? [:]
            item[op.method] = .object(operation)
            paths[op.path] = .object(item)
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "Persona Platform control plane", "version": "0.1.0",
                     "description": "Success bodies are {data, nextCursor?}; errors are {error, code, traceId}."],
            "paths": .object(paths),
            "components": [
                "schemas": .object(OpenAPISchemas.all.merging(OpenAPISchemas.connectorSchemas) { current, _ in current }),
                "securitySchemes": ["bearerAuth": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
            ],
        ]
    }()

    static func describe(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No content"
        case 400: "Invalid request"
        case 401: "Missing, invalid or revoked token"
        case 403: "Not allowed"
        case 404: "Not found, or not visible to you"
        case 409: "Conflict"
        case 413: "Request body too large"
        case 415: "Unsupported media type"
        case 422: "Request understood but refused"
        case 429: "Rate limited (see Retry-After)"
        case 503: "Service unavailable"
        default: "Server error"
        }
    }
}

/// The OpenAPI document of the public API (what `/openapi.json` serves).
public var controlPlaneOpenAPIDocument: JSONValue { OpenAPIDocument.document }
