import PersonaKit
import PersonaStorage

/// Component schemas of the public API, in JSON Schema 2020-12 (OpenAPI 3.1).
enum OpenAPISchemas {
    static let id: JSONValue = ["type": "string", "format": "uuid", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"]
    static let time: JSONValue = ["type": "string", "format": "date-time"]
    static let nullableTime: JSONValue = ["type": ["string", "null"], "format": "date-time"]
    static let nullableString: JSONValue = ["type": ["string", "null"]]
    static let toolSelection: JSONValue = object([
        "mode": ["type": "string", "enum": ["all", "search"]], "limit": ["type": "integer", "minimum": 1, "maximum": 50],
    ])
    static let toolSelectionRequest: JSONValue = object([
        "mode": ["type": "string", "enum": ["all", "search"]], "limit": ["type": "integer", "minimum": 1, "maximum": 50],
    ], required: ["mode"])
    static let toolSource: JSONValue = ["type": "string", "enum": ["builtin", "image", "custom"]]
    static let toolNeeds: JSONValue = ["type": "array", "items": ["type": "string", "enum": ["browser", "desktop", "network"]]]

    /// One sidecar as the supervisor reports it (`SidecarHealth`).
    static let sidecar: JSONValue = object([
        "name": ["type": "string"], "state": ["type": "string", "enum": ["stopped", "starting", "ready", "backoff", "stopping"]],
        "detail": nullableString, "pid": ["type": ["integer", "null"]], "restarts": ["type": "integer"],
        "lastExit": ["type": ["object", "null"], "properties": ["status": ["type": "integer"], "at": time, "requested": ["type": "boolean"]],
                     "required": ["status", "at", "requested"], "additionalProperties": false],
        "memoryBytes": ["type": ["integer", "null"]], "startedAt": nullableTime, "lastUsedAt": nullableTime,
        "readyMs": ["type": ["integer", "null"]], "eager": ["type": "boolean"],
    ], required: ["name", "state", "restarts", "eager"])

    static func object(_ properties: [String: JSONValue], required: [String]? = nil, additional: Bool = false) -> JSONValue {
        [
            "type": "object",
            "properties": .object(properties),
            "required": .array((required ?? properties.keys.sorted()).map { .string($0) }),
            "additionalProperties": .bool(additional),
        ]
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func runSchema(extra: [String: JSONValue]) -> JSONValue {
        var properties: [String: JSONValue] = [
            "id": id, "personaId": id, "agentId": nullableString, "createdBy": nullableString,
            "status": ["type": "string", "enum": ["queued", "running", "awaiting_approval", "completed", "failed", "cancelled"]],
            "input": ["type": "string"], "output": nullableString, "error": nullableString,
            "traceId": ["type": "string", "pattern": "^[0-9a-f]{32}$"], "spanId": ["type": "string"],
            "stepCount": ["type": "integer"], "nextNode": nullableString, "cancelRequested": ["type": "boolean"],
            "promptTokens": ["type": "integer"], "completionTokens": ["type": "integer"],
            "createdAt": time, "updatedAt": time, "startedAt": nullableTime, "completedAt": nullableTime,
        ]
        properties.merge(extra) { $1 }
        return object(properties, required: ["id", "personaId", "status", "input", "traceId", "stepCount", "createdAt"] + extra.keys.sorted())
    }

    static let documentProperties: [String: JSONValue] = [
        "id": id, "personaId": id, "name": ["type": "string"], "contentType": nullableString, "sizeBytes": ["type": "integer"],
        "sha256": ["type": "string", "pattern": "^[0-9a-f]{64}$"], "format": nullableString,
        "status": ["type": "string", "enum": ["pending", "processing", "completed", "failed"]], "error": nullableString,
        "chunkCount": ["type": "integer"], "attempts": ["type": "integer"], "uploadedBy": nullableString, "traceId": nullableString,
        "createdAt": time, "updatedAt": time, "processedAt": nullableTime,
    ]
    static let documentRequired = ["id", "personaId", "name", "sizeBytes", "sha256", "status", "chunkCount", "attempts",
                                   "createdAt", "updatedAt"]

    static let all: [String: JSONValue] = [
        "Error": object(["error": ["type": "string"], "code": ["type": "string"],
                         "traceId": ["type": "string", "pattern": "^[0-9a-f]{32}$"]]),
        "User": object([
            "id": id, "email": ["type": "string"], "name": ["type": "string"],
            "role": ["type": "string", "enum": ["admin", "user"]], "isActive": ["type": "boolean"],
            "createdAt": time, "updatedAt": time, "lastLoginAt": nullableTime,
        ], required: ["id", "email", "name", "role", "isActive", "createdAt", "updatedAt"]),
        "TokenPair": object([
            "accessToken": ["type": "string"], "refreshToken": ["type": "string"],
            "tokenType": ["const": "Bearer"], "expiresIn": ["type": "integer", "minimum": 1], "user": ref("User"),
        ]),
        "SessionTokens": object([
            "accessToken": ["type": "string"], "tokenType": ["const": "Bearer"], "expiresIn": ["type": "integer", "minimum": 1],
            "user": ref("User"),
        ]),
        "Persona": object([
            "id": id, "name": ["type": "string"], "description": nullableString, "systemPrompt": nullableString,
            "theme": ["type": ["object", "null"]], "ownerId": id, "isActive": ["type": "boolean"],
            "role": ["type": "string", "enum": ["viewer", "editor", "owner"]], "createdAt": time, "updatedAt": time,
        ], required: ["id", "name", "ownerId", "isActive", "role", "createdAt", "updatedAt"]),
        "Member": object([
            "userId": id, "email": ["type": "string"], "name": ["type": "string"],
            "role": ["type": "string", "enum": ["viewer", "editor", "owner"]], "createdAt": time,
        ]),
        "Secret": object(["name": ["type": "string"], "createdAt": time, "updatedAt": time]),
        "AuditEvent": object([
            "id": id, "userId": nullableString, "personaId": nullableString, "runId": nullableString,
            "traceId": nullableString, "eventType": ["type": "string"], "eventCategory": ["type": "string"],
            "description": ["type": "string"], "metadata": ["type": "object"], "clientAddress": nullableString,
            "createdAt": time,
        ], required: ["id", "eventType", "eventCategory", "description", "metadata", "createdAt"]),
        "Settings": object([
            "allowUserPersonaCreation": ["type": "boolean"],
            "maxPersonasPerUser": ["type": "integer", "minimum": 0, "maximum": 100_000],
            "defaultPersonaMemoryMb": ["type": "integer", "minimum": 128, "maximum": 262_144],
            "defaultPersonaCpuShares": ["type": "integer", "minimum": 2, "maximum": 262_144],
            "defaultPersonaCpuMillis": ["type": "integer", "minimum": 10, "maximum": 256_000],
            "defaultPersonaPidsLimit": ["type": "integer", "minimum": 32, "maximum": 1_000_000],
            "personaRestartMaxAttempts": ["type": "integer", "minimum": 0, "maximum": 100],
            "auditRetentionDays": ["type": "integer", "minimum": 1, "maximum": 36_500],
            "runHistoryRetentionDays": ["type": "integer", "minimum": 1, "maximum": 36_500],
            "healthRetentionDays": ["type": "integer", "minimum": 1, "maximum": 3_650],
            "alertCpuPercent": ["type": "integer", "minimum": 1, "maximum": 25_600],
            "alertCpuSamples": ["type": "integer", "minimum": 1, "maximum": 100],
            "alertMemoryPercent": ["type": "integer", "minimum": 1, "maximum": 100],
            "personaIdleMinutes": ["type": "integer", "minimum": 0, "maximum": 10_080],
            "personaStopAfterIdleHours": ["type": "integer", "minimum": 0, "maximum": 8_760],
        ]),
        "ContainerStatus": object([
            "personaId": id,
            "state": ["type": "string", "enum": ["stopped", "starting", "ready", "unhealthy", "failed", "paused"]],
            "desiredState": ["type": "string", "enum": ["running", "stopped"]],
            "containerId": nullableString, "containerName": nullableString, "image": nullableString,
            "health": nullableString,
            "supervisor": ["anyOf": [["type": "null"], object([
                "version": nullableString, "bootId": nullableString, "registeredAt": nullableTime, "lastHeartbeatAt": nullableTime,
                "status": nullableString, "rssBytes": ["type": ["integer", "null"]],
                "runningInvocations": ["type": ["integer", "null"]], "outboxDepth": ["type": ["integer", "null"]],
                "sidecars": ["type": "array", "items": sidecar],
            ], required: ["sidecars"])]],
            "startedAt": nullableTime, "stoppedAt": nullableTime, "exitCode": ["type": ["integer", "null"]],
            "restartCount": ["type": "integer", "minimum": 0], "lastError": nullableString,
            "hostPorts": object(["supervisor": nullableString], required: []),
            "resources": ["anyOf": [["type": "null"], object([
                "cpuPercent": ["type": ["number", "null"]], "memoryBytes": ["type": ["integer", "null"]],
                "memoryLimitBytes": ["type": ["integer", "null"]], "pids": ["type": ["integer", "null"]],
                "sampledAt": ["type": ["string", "null"], "format": "date-time"],
            ], required: [])]],
            "idleSince": nullableTime, "pausedAt": nullableTime, "idleStoppedAt": nullableTime,
        ], required: ["personaId", "state", "desiredState", "restartCount", "hostPorts"]),
        "PersonaTool": object([
            "id": id, "name": ["type": "string"], "version": ["type": "string"], "description": ["type": "string"],
            "category": ["type": "string"], "enabled": ["type": "boolean"], "builtin": ["type": "boolean"],
            "requiresApproval": ["type": "boolean"], "timeoutMs": ["type": "integer"],
            "needs": ["type": "array", "items": ["type": "string", "enum": ["browser", "desktop", "network"]]],
            "dependsOn": ["type": "array", "items": ["type": "string"]],
            "inputSchema": ["type": "object"], "outputSchema": ["type": ["object", "null"]], "updatedAt": time,
        ], required: ["id", "name", "version", "description", "category", "enabled", "builtin", "requiresApproval", "timeoutMs",
                      "needs", "dependsOn", "inputSchema", "updatedAt"]),
        "CatalogTool": object([
            "id": id, "name": ["type": "string"], "version": ["type": "string"], "description": ["type": "string"],
            "category": ["type": "string"], "source": toolSource, "builtin": ["type": "boolean"],
            "requiresApproval": ["type": "boolean"], "needs": toolNeeds, "dependsOn": ["type": "array", "items": ["type": "string"]],
            "versions": ["type": "array", "items": ["type": "string"]], "updatedAt": time,
        ]),
        "ToolSearchResult": object([
            "tool": ref("CatalogTool"), "similarity": ["type": ["number", "null"]], "score": ["type": "number"],
            "dependencyChain": ["type": "array", "items": object(["id": id, "name": ["type": "string"], "version": ["type": "string"]])],
        ], required: ["tool", "score", "dependencyChain"]),
        "ToolCategory": object(["category": ["type": "string"], "count": ["type": "integer", "minimum": 1]]),
        "ToolDetail": object([
            "id": id, "name": ["type": "string"], "version": ["type": "string"], "description": ["type": "string"],
            "category": ["type": "string"], "source": toolSource, "builtin": ["type": "boolean"],
            "requiresApproval": ["type": "boolean"], "timeoutMs": ["type": "integer"], "needs": toolNeeds,
            "secrets": ["type": "array", "items": ["type": "string"]], "dependsOn": ["type": "array", "items": ["type": "string"]],
            "dependencyChain": ["type": "array", "items": object(["id": id, "name": ["type": "string"], "version": ["type": "string"]])],
            "inputSchema": ["type": "object"], "outputSchema": ["type": ["object", "null"]],
            "versions": ["type": "array", "items": object(["id": id, "version": ["type": "string"], "source": toolSource, "createdAt": time])],
            "personas": ["type": "array", "items": object(["personaId": id, "personaName": ["type": "string"], "version": ["type": "string"],
                                                           "enabled": ["type": "boolean"]])],
            "updatedAt": time,
        ], required: ["id", "name", "version", "description", "category", "source", "builtin", "requiresApproval", "timeoutMs", "needs",
                      "secrets", "dependsOn", "dependencyChain", "inputSchema", "versions", "personas", "updatedAt"]),
        "Alert": object([
            "id": id, "personaId": id, "kind": ["type": "string", "enum": ["cpu_high", "memory_high", "heartbeat_missed", "restarted", "ingestion_failed"]],
            "status": ["type": "string", "enum": ["open", "resolved"]], "message": ["type": "string"],
            "value": ["type": ["number", "null"]], "threshold": ["type": ["number", "null"]],
            "openedAt": time, "resolvedAt": ["type": ["string", "null"], "format": "date-time"],
        ], required: ["id", "personaId", "kind", "status", "message", "openedAt"]),
        "Dashboard": dashboard,
        "AdminHealth": object([
            "personas": ["type": "array", "items": object([
                "personaId": id, "personaName": ["type": "string"], "latest": ["type": ["object", "null"]],
                "openAlerts": ["type": "array", "items": ref("Alert")],
            ], required: ["personaId", "personaName", "openAlerts"])],
        ]),
        "HealthSeries": object([
            "personaId": id, "since": time, "until": time, "step": ["type": ["integer", "null"]],
            "points": ["type": "array", "items": object([
                "personaId": id, "sampledAt": time, "resolutionSeconds": ["type": "integer"], "containerId": ["type": ["string", "null"]],
                "cpuPercent": ["type": ["number", "null"]], "memoryMb": ["type": ["number", "null"]],
                "memoryPercent": ["type": ["number", "null"]], "pids": ["type": ["integer", "null"]],
                "netRxBytes": ["type": ["integer", "null"]], "netTxBytes": ["type": ["integer", "null"]],
                "blockReadBytes": ["type": ["integer", "null"]], "blockWriteBytes": ["type": ["integer", "null"]],
                "workspaceBytes": ["type": ["integer", "null"]], "llmCalls": ["type": "integer"], "llmTokens": ["type": "integer"],
                "activeRuns": ["type": "integer"], "openToolRuns": ["type": "integer"],
            ], required: ["personaId", "sampledAt", "resolutionSeconds", "llmCalls", "llmTokens", "activeRuns", "openToolRuns"])],
        ], required: ["personaId", "since", "until", "points"]),
        "ToolUpload": object([
            "tool": ref("ToolDetail"),
            "package": object(["format": ["type": "string", "enum": ["tar.gz", "tar", "zip"]], "files": ["type": "integer"],
                               "bytes": ["type": "integer"]]),
            "delivery": ref("ToolDelivery"),
        ]),
        "ToolDeleted": object(["id": id, "name": ["type": "string"], "version": ["type": "string"], "delivery": ref("ToolDelivery")]),
        "ToolDelivery": object(["reloaded": ["type": "integer", "minimum": 0], "unreachable": ["type": "integer", "minimum": 0]]),
        "Runtime": object([
            "image": ["type": "string", "enum": ["standard", "desktop"]], "imageTag": ["type": "string"],
            "eagerSidecars": ["type": "array", "items": ["type": "string", "enum": ["browser", "desktop"]]],
            "browserHeaded": ["type": "boolean"], "sidecarIdleSeconds": ["type": "integer"], "restartRequired": ["type": "boolean"],
        ], required: ["image", "imageTag", "eagerSidecars", "browserHeaded", "sidecarIdleSeconds", "restartRequired"]),
        "RuntimeRequest": object([
            "image": ["type": "string", "enum": ["standard", "desktop"]],
            "eagerSidecars": ["type": "array", "items": ["type": "string", "enum": ["browser", "desktop"]]],
            "browserHeaded": ["type": "boolean"], "sidecarIdleSeconds": ["type": "integer", "minimum": 0, "maximum": 86400],
        ], required: []),
        "Desktop": object([
            "host": ["type": "string"], "port": ["type": "integer"], "password": ["type": "string"], "url": ["type": "string"],
            "display": ["type": "string"], "sidecars": ["type": "array", "items": sidecar],
        ], required: ["host", "port", "password", "url", "display", "sidecars"]),
        "ToolPatchRequest": object(["enabled": ["type": "boolean"], "requiresApproval": ["type": "boolean"]], required: []),
        "ApproveRunRequest": object(["approved": ["type": "boolean"], "comment": ["type": "string", "maxLength": 2000]],
                                    required: ["approved"]),
        "InvokeToolRequest": object(["arguments": ["type": "object"], "timeoutMs": ["type": "integer", "minimum": 1, "maximum": 3_600_000],
                                     "idempotencyKey": ["type": "string", "minLength": 1, "maxLength": 200]], required: []),
        "ToolRun": object([
            "id": id, "personaId": id, "tool": ["type": "string"], "runId": nullableString, "userId": nullableString,
            "idempotencyKey": ["type": "string"], "invocationId": nullableString,
            "status": ["type": "string", "enum": ["running", "succeeded", "failed", "timed_out", "cancelled", "interrupted"]],
            "input": ["type": "object"], "output": [:], "errorCode": nullableString, "exitCode": ["type": ["integer", "null"]],
            "durationMs": ["type": ["integer", "null"]], "stderrTail": nullableString,
            "artifacts": ["type": "array", "items": object(["path": ["type": "string"], "size": ["type": "integer"]])],
            "traceId": ["type": "string", "pattern": "^[0-9a-f]{32}$"], "createdAt": time, "finishedAt": nullableTime,
        ], required: ["id", "personaId", "tool", "idempotencyKey", "status", "input", "artifacts", "traceId", "createdAt"]),
        "Agent": object([
            "id": id, "personaId": id, "name": ["type": "string"], "model": ["type": "string"], "systemPrompt": nullableString,
            "temperature": ["type": ["number", "null"]], "maxSteps": ["type": "integer", "minimum": 1],
            "tools": ["type": "array", "items": ["type": "string"]], "toolSelection": toolSelection,
            "createdBy": nullableString, "createdAt": time, "updatedAt": time,
        ], required: ["id", "personaId", "name", "model", "maxSteps", "tools", "toolSelection", "createdAt", "updatedAt"]),
        "CreateAgentRequest": object(["name": ["type": "string"], "model": ["type": "string"], "systemPrompt": ["type": "string"],
                                      "temperature": ["type": "number", "minimum": 0, "maximum": 2],
                                      "maxSteps": ["type": "integer", "minimum": 1, "maximum": 200],
                                      "tools": ["type": "array", "items": ["type": "string"]], "toolSelection": toolSelectionRequest],
                                     required: ["name", "model"]),
        "UpdateAgentRequest": object(["name": ["type": "string"], "model": ["type": "string"], "systemPrompt": nullableString,
                                      "temperature": ["type": ["number", "null"]], "maxSteps": ["type": "integer"],
                                      "tools": ["type": "array", "items": ["type": "string"]], "toolSelection": toolSelectionRequest],
                                     required: []),
        "Run": runSchema(extra: [:]),
        "RunDetail": runSchema(extra: ["steps": ["type": "array", "items": object([
            "step": ["type": "integer"], "node": ["type": "string"], "spanId": ["type": "string"],
            "detail": ["type": "object"], "createdAt": time,
        ])], "approvals": ["type": "array", "items": object([
            "step": ["type": "integer"], "callId": ["type": "string"], "tool": ["type": "string"], "arguments": [:],
            "status": ["type": "string", "enum": ["pending", "approved", "rejected"]], "comment": nullableString,
            "decidedBy": nullableString, "createdAt": time, "decidedAt": nullableTime,
        ], required: ["step", "callId", "tool", "arguments", "status", "createdAt"])]]),
        "CreateRunRequest": object(["agentId": id, "input": ["type": "string", "minLength": 1]]),
        "Health": object(["status": ["type": "string"]], additional: true),
        "Document": object(documentProperties, required: documentRequired),
        "DocumentDetail": object(documentProperties.merging(["chunks": ["type": "array", "items": ref("MemoryChunk")]]) { a, _ in a },
                                 required: documentRequired + ["chunks"]),
        "MemoryChunk": object([
            "id": id, "documentId": ["type": ["string", "null"]], "documentName": nullableString, "chunkIndex": ["type": "integer"],
            "text": ["type": "string"], "startOffset": ["type": ["integer", "null"]], "endOffset": ["type": ["integer", "null"]],
            "tokenCount": ["type": "integer"], "curated": ["type": "boolean"],
            "sourceChunkIds": ["type": ["array", "null"], "items": ["type": "string"]], "embeddingModel": ["type": "string"],
            "similarity": ["type": ["number", "null"]], "createdAt": time,
        ], required: ["id", "chunkIndex", "text", "tokenCount", "curated", "embeddingModel", "createdAt"]),
        // Request bodies.
        "LoginRequest": object(["email": ["type": "string"], "password": ["type": "string"]]),
        "RefreshRequest": object(["refreshToken": ["type": "string"]]),
        "UpdateMeRequest": object(["name": ["type": "string"], "currentPassword": ["type": "string"],
                                   "newPassword": ["type": "string", "minLength": 12]], required: []),
        "CreateUserRequest": object(["email": ["type": "string"], "name": ["type": "string"],
                                     "password": ["type": "string", "minLength": 12],
                                     "role": ["type": "string", "enum": ["admin", "user"]]],
                                    required: ["email", "name", "password"]),
        "UpdateUserRequest": object(["email": ["type": "string"], "name": ["type": "string"],
                                     "password": ["type": "string", "minLength": 12],
                                     "role": ["type": "string", "enum": ["admin", "user"]],
                                     "isActive": ["type": "boolean"]], required: []),
        "CreatePersonaRequest": object(["name": ["type": "string", "minLength": 1, "maxLength": 100],
                                        "description": ["type": "string", "maxLength": 2000],
                                        "systemPrompt": ["type": "string", "maxLength": 32000],
                                        "theme": ["type": "object"]], required: ["name"]),
        "UpdatePersonaRequest": object(["name": ["type": "string", "minLength": 1, "maxLength": 100],
                                        "description": nullableString, "systemPrompt": nullableString,
                                        "theme": ["type": ["object", "null"]], "isActive": ["type": "boolean"]],
                                       required: []),
        "AddMemberRequest": object(["userId": id, "email": ["type": "string"],
                                    "role": ["type": "string", "enum": ["viewer", "editor", "owner"]]],
                                   required: ["role"]),
        "PutSecretRequest": object(["value": ["type": "string", "maxLength": 65536]]),
        "UpdateSettingsRequest": ["$ref": "#/components/schemas/SettingsPatch"],
        "SettingsPatch": object([
            "allowUserPersonaCreation": ["type": "boolean"],
            "maxPersonasPerUser": ["type": "integer"], "defaultPersonaMemoryMb": ["type": "integer"],
            "defaultPersonaCpuShares": ["type": "integer"], "auditRetentionDays": ["type": "integer"],
            "defaultPersonaCpuMillis": ["type": "integer"], "defaultPersonaPidsLimit": ["type": "integer"],
            "personaRestartMaxAttempts": ["type": "integer"], "runHistoryRetentionDays": ["type": "integer"],
            "healthRetentionDays": ["type": "integer"], "alertCpuPercent": ["type": "integer"],
            "alertCpuSamples": ["type": "integer"], "alertMemoryPercent": ["type": "integer"],
            "personaIdleMinutes": ["type": "integer"], "personaStopAfterIdleHours": ["type": "integer"],
        ], required: []),
    ]
}
