import PersonaKit
import PersonaStorage

extension OpenAPISchemas {
    static let mailSecurity: JSONValue = ["type": "string", "enum": .array(MailSecurity.allCases.map { .string($0.rawValue) })]
    static let connectorStatus: JSONValue = ["type": "string", "enum": .array(ConnectorStatus.allCases.map { .string($0.rawValue) })]
    static let folderName: JSONValue = ["type": "string", "minLength": 1, "maxLength": 255]
    static let folders: JSONValue = object(["inbox": folderName, "sent": folderName, "archive": folderName, "trash": folderName])

    static let emailTrigger: JSONValue = object([
        "agentId": id, "folder": ["type": "string"],
        "filter": object(["unseenOnly": ["type": "boolean"], "fromContains": ["type": "string"], "subjectContains": ["type": "string"]],
                         required: ["unseenOnly"]),
        "action": ["type": "string", "enum": .array(EmailTrigger.Action.allCases.map { .string($0.rawValue) })],
        "moveTo": ["type": "string"],
    ], required: ["agentId", "folder", "filter", "action"])

    /// A mail server in a request: on create `host`, `username` and `password` of `imap` are
    /// required (the SMTP server defaults to the IMAP host and login); on PATCH any subset.
    static let mailServerRequest: JSONValue = object([
        "host": ["type": "string", "minLength": 1, "maxLength": 253], "port": ["type": "integer", "minimum": 1, "maximum": 65535],
        "security": mailSecurity, "username": ["type": "string", "minLength": 1, "maxLength": 320],
        "password": ["type": "string", "minLength": 1, "maxLength": 1024, "writeOnly": true],
    ], required: [])

    static let triggerRequest: JSONValue = object([
        "agentId": id, "folder": folderName,
        "filter": object(["unseenOnly": ["type": "boolean"], "fromContains": ["type": "string", "maxLength": 200],
                          "subjectContains": ["type": "string", "maxLength": 200]], required: []),
        "action": ["type": "string", "enum": .array(EmailTrigger.Action.allCases.map { .string($0.rawValue) })],
        "moveTo": folderName,
    ], required: ["agentId"])

    static let connectorSchemas: [String: JSONValue] = [
        "Connector": object([
            "id": ["type": "string"], "personaId": id,
            "kind": ["type": "string", "enum": .array(ConnectorKind.allCases.map { .string($0.rawValue) })],
            "name": ["type": "string"], "readOnly": ["type": "boolean"], "enabled": ["type": "boolean"],
            "imap": ref("MailServer"), "smtp": ref("MailServer"),
            "fromAddress": ["type": "string"], "fromName": ["type": "string"], "folders": folders,
            "caCertificate": ["type": "string"], "trigger": emailTrigger,
            "status": object(["state": ["type": "string"], "message": ["type": "string"], "checkedAt": time], required: ["state"]),
            "triggerStatus": object([
                "state": ["type": "string", "enum": ["pending", "starting", "idle", "polling", "backoff", "stopped"]],
                "message": ["type": "string"], "failures": ["type": "integer", "minimum": 0], "retryAt": time, "lastCheckedAt": time,
            ], required: ["state", "failures"]),
            "runtime": object(["image": ["type": "string", "enum": ["standard", "desktop"]], "eager": ["type": "boolean"],
                               "browserHeaded": ["type": "boolean"], "sidecar": sidecar],
                              required: ["image", "eager", "browserHeaded"]),
            "createdAt": time, "updatedAt": time,
        ], required: ["id", "personaId", "kind", "name", "readOnly", "enabled", "status"]),
        "MailServer": object([
            "host": ["type": "string"], "port": ["type": "integer"], "security": mailSecurity, "username": ["type": "string"],
            "passwordSet": ["type": "boolean", "const": true],
        ]),
        "ConnectorTestResult": object([
            "status": connectorStatus, "message": ["type": "string"], "durationMs": ["type": "integer", "minimum": 0],
            "imap": ref("ConnectorServerTest"), "smtp": ref("ConnectorServerTest"),
        ]),
        "ConnectorServerTest": object(["status": connectorStatus, "message": ["type": "string"],
                                       "durationMs": ["type": "integer", "minimum": 0]]),
        "CreateConnectorRequest": object([
            "kind": ["type": "string", "enum": ["email"]], "name": ["type": "string", "minLength": 1, "maxLength": 100],
            "enabled": ["type": "boolean"], "imap": mailServerRequest, "smtp": mailServerRequest,
            "fromAddress": ["type": "string", "maxLength": 254], "fromName": ["type": "string", "maxLength": 200],
            "folders": object(["inbox": folderName, "sent": folderName, "archive": folderName, "trash": folderName], required: []),
            "caCertificate": ["type": "string", "maxLength": 65536], "trigger": triggerRequest,
        ], required: ["kind", "name", "imap"]),
        "UpdateConnectorRequest": object([
            "name": ["type": "string", "minLength": 1, "maxLength": 100],
            "enabled": ["type": "boolean"], "imap": mailServerRequest, "smtp": mailServerRequest,
            "fromAddress": ["type": "string", "maxLength": 254], "fromName": ["type": "string", "maxLength": 200],
            "folders": object(["inbox": folderName, "sent": folderName, "archive": folderName, "trash": folderName], required: []),
            "caCertificate": ["type": ["string", "null"], "maxLength": 65536],
            "trigger": ["anyOf": [triggerRequest, ["type": "null"]]],
        ], required: []),
    ]
}
