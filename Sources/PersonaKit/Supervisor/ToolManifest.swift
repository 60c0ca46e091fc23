/// A tool package's `tool.json` (`tools/<name>/tool.json`, installed under
/// `/opt/persona/tools/<name>/` in the persona image). The supervisor loads every manifest at
/// start, validates invocation arguments against ``inputSchema`` and reports the manifests to
/// the control plane when it registers.
///
/// ```json
/// {"name": "shell", "version": "1.0.0", "description": "...", "category": "system",
///  "inputSchema": {"type": "object", ...}, "timeoutMs": 60000, "builtin": true}
/// ```
public struct ToolManifest: Codable, Sendable, Hashable {
    /// What a tool needs from its container beyond the base image.
    public enum Need: String, Codable, Sendable, Hashable, CaseIterable {
        case browser, desktop, network
    }

    /// Unique name (`[a-z][a-z0-9_]*`), how APIs refer to the tool.
    public var name: String
    /// Version of the tool package (semver).
    public var version: String
    /// What the tool does, written for the model that chooses tools.
    public var description: String
    /// Grouping for catalogues (`system`, `files`, `web`, `office`, `email`, ...).
    public var category: String
    /// JSON Schema (the subset ``JSONSchemaValidator`` implements) of the one JSON object the
    /// tool reads on stdin.
    public var inputSchema: JSONValue
    /// JSON Schema of the result it writes on stdout, when it promises one.
    public var outputSchema: JSONValue?
    /// Default and maximum run time; a request may ask for less, never more.
    public var timeoutMs: Int
    /// Names of tools this one needs installed as well.
    public var dependsOn: [String]
    /// Whether a person must approve each call before it runs.
    public var requiresApproval: Bool
    /// Container features the tool needs.
    public var needs: [Need]
    /// Names of persona secrets given to this tool's process as environment variables
    /// (and to no other tool).
    public var secrets: [String]
    /// `true` for tools compiled into the supervisor (`shell`, `read_file`, ...).
    public var builtin: Bool
    /// How to start an external tool: argv, the first element relative to the tool's
    /// directory unless absolute (`["run"]`, `["/usr/bin/python3", "main.py"]`). Ignored for
    /// built-in tools.
    public var command: [String]?
    /// Largest stdout (bytes) kept; more fails the invocation with `output_too_large`.
    public var maxOutputBytes: Int?

    public init(
        name: String, version: String = "1.0.0", description: String, category: String,
        inputSchema: JSONValue, outputSchema: JSONValue? = nil, timeoutMs: Int = 60_000,
        dependsOn: [String] = [], requiresApproval: Bool = false, needs: [Need] = [],
        secrets: [String] = [], builtin: Bool = false, command: [String]? = nil, maxOutputBytes: Int? = nil
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.category = category
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.timeoutMs = timeoutMs
        self.dependsOn = dependsOn
        self.requiresApproval = requiresApproval
        self.needs = needs
        self.secrets = secrets
        self.builtin = builtin
        self.command = command
        self.maxOutputBytes = maxOutputBytes
    }

    enum CodingKeys: String, CodingKey {
        case name, version, description, category, inputSchema, outputSchema, timeoutMs, dependsOn
        case requiresApproval, needs, secrets, builtin, command, maxOutputBytes
    }

    /// Decodes a manifest; optional members default as documented on each property.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? "1.0.0"
        description = try c.decode(String.self, forKey: .description)
        category = try c.decodeIfPresent(String.self, forKey: .category) ?? "general"
        inputSchema = try c.decodeIfPresent(JSONValue.self, forKey: .inputSchema) ?? ["type": "object"]
        outputSchema = try c.decodeIfPresent(JSONValue.self, forKey: .outputSchema)
        timeoutMs = try c.decodeIfPresent(Int.self, forKey: .timeoutMs) ?? 60_000
        dependsOn = try c.decodeIfPresent([String].self, forKey: .dependsOn) ?? []
        requiresApproval = try c.decodeIfPresent(Bool.self, forKey: .requiresApproval) ?? false
        needs = try c.decodeIfPresent([Need].self, forKey: .needs) ?? []
        secrets = try c.decodeIfPresent([String].self, forKey: .secrets) ?? []
        builtin = try c.decodeIfPresent(Bool.self, forKey: .builtin) ?? false
        command = try c.decodeIfPresent([String].self, forKey: .command)
        maxOutputBytes = try c.decodeIfPresent(Int.self, forKey: .maxOutputBytes)
    }

    /// Problems that make the manifest unusable (bad name, no command, non-positive timeout).
    public func problems() -> [String] {
        var out: [String] = []
        let nameOK = !name.isEmpty && name.utf8.count <= 64
            && name.utf8.first.map { (97...122).contains($0) } == true
            && name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }
        if !nameOK { out.append("name must match [a-z][a-z0-9_-]* (at most 64 characters)") }
        if timeoutMs <= 0 { out.append("timeoutMs must be positive") }
        if !builtin && (command?.isEmpty ?? true) { out.append("an external tool needs a command") }
        if inputSchema.objectValue == nil && inputSchema.boolValue == nil { out.append("inputSchema must be a schema object") }
        return out
    }
}
