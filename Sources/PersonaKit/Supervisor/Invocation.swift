/// `POST /v1/tools/{name}/invocations` on the supervisor (and the control plane's
/// `/api/personas/{id}/tools/{name}/invoke` passes the same fields through).
public struct InvocationRequest: Codable, Sendable, Hashable {
    /// The tool's input, validated against its manifest's `inputSchema`.
    public var arguments: JSONValue
    /// Same key, same result: a retried request returns the journaled result and never runs
    /// the tool twice; a concurrent duplicate waits for the first.
    public var idempotencyKey: String?
    /// Upper bound on run time; capped at the manifest's `timeoutMs`.
    public var timeoutMs: Int?

    public init(arguments: JSONValue = [:], idempotencyKey: String? = nil, timeoutMs: Int? = nil) {
        self.arguments = arguments
        self.idempotencyKey = idempotencyKey
        self.timeoutMs = timeoutMs
    }
}

/// How an invocation ended (or that it has not yet).
public enum InvocationStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// Still running (only seen in status listings and events).
    case running
    /// Exit code 0 and a JSON result.
    case succeeded
    /// Non-zero exit, unreadable output or a tool-reported error.
    case failed
    /// Killed (with its whole process group) when its time ran out.
    case timedOut = "timed_out"
    /// Cancelled by `POST /v1/invocations/{id}/cancel` or supervisor shutdown.
    case cancelled
    /// The supervisor stopped while it ran; journaled so a retry does not run it again.
    case interrupted
}

/// A file a tool left in `$TOOL_OUTPUT_DIR`, readable through the files API at ``path``.
public struct InvocationArtifact: Codable, Sendable, Hashable {
    /// Path relative to `/workspace`.
    public var path: String
    /// Size in bytes.
    public var size: Int

    public init(path: String, size: Int) {
        self.path = path
        self.size = size
    }
}

/// The answer to an invocation, also what the idempotency journal stores.
public struct InvocationResult: Codable, Sendable, Hashable {
    /// Supervisor-assigned id (UUIDv7); `POST /v1/invocations/{id}/cancel` takes it.
    public var id: String
    /// The tool's name.
    public var tool: String
    public var status: InvocationStatus
    /// The JSON the tool wrote on stdout (`null` when it wrote none or it did not parse).
    public var output: JSONValue
    /// Process exit code; negative for "killed by signal N"; `nil` for built-ins that threw.
    public var exitCode: Int?
    public var durationMs: Int
    /// The last few KiB of stderr.
    public var stderrTail: String
    public var artifacts: [InvocationArtifact]
    /// Machine code when the invocation did not succeed (`exit_nonzero`, `timeout`, ...).
    public var errorCode: String?
    /// Trace id the invocation ran under.
    public var traceId: String
    /// Whether this answer came from the journal (a repeated idempotency key).
    public var replayed: Bool

    public init(
        id: String, tool: String, status: InvocationStatus, output: JSONValue = nil, exitCode: Int? = nil,
        durationMs: Int = 0, stderrTail: String = "", artifacts: [InvocationArtifact] = [],
        errorCode: String? = nil, traceId: String, replayed: Bool = false
    ) {
        self.id = id
        self.tool = tool
        self.status = status
        self.output = output
        self.exitCode = exitCode
        self.durationMs = durationMs
        self.stderrTail = stderrTail
        self.artifacts = artifacts
        self.errorCode = errorCode
        self.traceId = traceId
        self.replayed = replayed
    }
}
