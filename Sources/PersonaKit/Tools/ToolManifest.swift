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
    /// Tools this one needs installed and enabled as well: a name, optionally with a version
    /// range after `@` (`"browser_navigate"`, `"office_runtime@^1.0.0"`); see ``dependencies``.
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
        if SemanticVersion(version) == nil { out.append("version must be a semantic version (1.2.3)") }
        for entry in dependsOn {
            guard let dependency = ToolDependency(entry) else {
                out.append("dependsOn entry \"\(entry)\" must be a tool name, optionally @ a version range")
                continue
            }
            if dependency.name == name { out.append("a tool cannot depend on itself") }
        }
        return out
    }

    /// ``dependsOn`` parsed (entries that do not parse are left out; ``problems()`` names them).
    public var dependencies: [ToolDependency] { dependsOn.compactMap(ToolDependency.init) }
}

/// One entry of a manifest's `dependsOn`: the tool's name and the versions that satisfy it.
public struct ToolDependency: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var range: VersionRange

    public init(name: String, range: VersionRange = .any) {
        self.name = name
        self.range = range
    }

    /// Parses `name` or `name@range`.
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty, name.utf8.count <= 64, parts.count == 1 || !parts[1].isEmpty,
              name.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }) else { return nil }
        if parts.count == 2 {
            guard let range = VersionRange(String(parts[1])) else { return nil }
            self.init(name: name, range: range)
        } else {
            self.init(name: name)
        }
    }

    public var description: String { range.description == "*" ? name : "\(name)@\(range)" }
}
