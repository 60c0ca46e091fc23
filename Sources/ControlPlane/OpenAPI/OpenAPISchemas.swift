import PersonaKit

/// Component schemas of the public API, in JSON Schema 2020-12 (OpenAPI 3.1).
enum OpenAPISchemas {
    static let id: JSONValue = ["type": "string", "format": "uuid", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"]
    static let time: JSONValue = ["type": "string", "format": "date-time"]
    static let nullableTime: JSONValue = ["type": ["string", "null"], "format": "date-time"]
    static let nullableString: JSONValue = ["type": ["string", "null"]]

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
            "auditRetentionDays": ["type": "integer", "minimum": 1, "maximum": 36_500],
        ]),
        "Agent": object([
            "id": id, "personaId": id, "name": ["type": "string"], "model": ["type": "string"], "systemPrompt": nullableString,
            "temperature": ["type": ["number", "null"]], "maxSteps": ["type": "integer", "minimum": 1],
            "tools": ["type": "array", "items": ["type": "string"]], "createdBy": nullableString, "createdAt": time, "updatedAt": time,
        ], required: ["id", "personaId", "name", "model", "maxSteps", "tools", "createdAt", "updatedAt"]),
        "CreateAgentRequest": object(["name": ["type": "string"], "model": ["type": "string"], "systemPrompt": ["type": "string"],
                                      "temperature": ["type": "number", "minimum": 0, "maximum": 2],
                                      "maxSteps": ["type": "integer", "minimum": 1, "maximum": 200],
                                      "tools": ["type": "array", "items": ["type": "string"]]], required: ["name", "model"]),
        "UpdateAgentRequest": object(["name": ["type": "string"], "model": ["type": "string"], "systemPrompt": nullableString,
                                      "temperature": ["type": ["number", "null"]], "maxSteps": ["type": "integer"],
                                      "tools": ["type": "array", "items": ["type": "string"]]], required: []),
        "Run": runSchema(extra: [:]),
        "RunDetail": runSchema(extra: ["steps": ["type": "array", "items": object([
            "step": ["type": "integer"], "node": ["type": "string"], "spanId": ["type": "string"],
            "detail": ["type": "object"], "createdAt": time,
        ])]]),
        "CreateRunRequest": object(["agentId": id, "input": ["type": "string", "minLength": 1]]),
        "Health": object(["status": ["type": "string"]], additional: true),
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
        ], required: []),
    ]
}
