#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit

/// What running a tool needs: the workspace, the process runner, the tool user, secrets and
/// the environment every tool starts from. `execute` never throws: every failure becomes an
/// ``InvocationResult`` with a status and an error code.
public struct ToolContext: Sendable {
    public var personaId: String
    public var bootId: String
    public var workspace: Workspace
    public var processes: ProcessRunner
    /// uid/gid tools run as (`nil`: as the supervisor's own user, e.g. in tests).
    public var toolUser: (uid: UInt32, gid: UInt32)?
    public var secrets: SecretStore
    public var http: SimpleHTTPClient
    /// The in-container memory cache `memory_search` answers from (`nil`: the tool fails
    /// with `memory_unavailable`).
    public var memory: MemoryService?
    /// bash, for the `shell` tool.
    public var shellPath: String
    /// Where invocation output directories go, relative to the workspace.
    public var outputsDirectory: String
    /// The sidecars tools with `needs` use (`nil`: none; such tools fail with
    /// `sidecar_unavailable`).
    public var sidecars: SidecarManager?
    /// Where the Playwright driver listens (the `browser_*` tools talk to it).
    public var browserSocket: String
    /// The X display of the desktop sidecar, given to tools that need the desktop.
    public var display: String

    public init(personaId: String, bootId: String, workspace: Workspace, processes: ProcessRunner,
                toolUser: (uid: UInt32, gid: UInt32)?, secrets: SecretStore, http: SimpleHTTPClient = SimpleHTTPClient(),
                memory: MemoryService? = nil, shellPath: String = "/bin/bash", outputsDirectory: String = ".persona/outputs",
                sidecars: SidecarManager? = nil, browserSocket: String = SupervisorConfiguration().browserSocket,
                display: String = PlatformSidecars.defaultDisplay) {
        self.personaId = personaId
        self.bootId = bootId
        self.workspace = workspace
        self.processes = processes
        self.toolUser = toolUser
        self.secrets = secrets
        self.http = http
        self.memory = memory
        self.shellPath = shellPath
        self.outputsDirectory = outputsDirectory
        self.sidecars = sidecars
        self.browserSocket = browserSocket
        self.display = display
    }

    /// The scrubbed environment every tool process starts from: nothing of the supervisor's
    /// own environment, plus the trace, the output directory and the declared secrets.
    func environment(for invocation: ToolInvocation, outputDirectory: String) -> [String: String] {
        var env: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": workspace.root,
            "LANG": "C.UTF-8",
            "TRACEPARENT": invocation.trace.traceparent,
            "TOOL_OUTPUT_DIR": outputDirectory,
            "TOOL_NAME": invocation.entry.manifest.name,
            "TOOL_INVOCATION_ID": invocation.id,
            "PERSONA_WORKSPACE": workspace.root,
        ]
        if let state = invocation.trace.traceState { env["TRACESTATE"] = state }
        if invocation.entry.manifest.needs.contains(.desktop) { env["DISPLAY"] = display }
        for (name, value) in secrets.environment(for: invocation.entry.manifest.secrets) { env[name] = value }
        return env
    }

    func execute(_ invocation: ToolInvocation) async -> InvocationResult {
        let started = monotonicNanos()
        var result: InvocationResult
        do throws(SupervisorError) {
            let sidecarNames = PlatformSidecars.sidecars(for: invocation.entry.manifest.needs)
            if !sidecarNames.isEmpty {
                guard let sidecars else {
                    throw SupervisorError("sidecar_unavailable", "\(invocation.entry.manifest.name) needs sidecars this supervisor does not run",
                                          status: 409)
                }
                try await sidecars.ensureReady(sidecarNames)
            }
            if invocation.entry.manifest.builtin {
                result = try await BuiltinTools.run(invocation, context: self)
            } else {
                result = try await runExternal(invocation)
            }
            // Used until the call ended, not only when it began.
            if !sidecarNames.isEmpty { await sidecars?.touch(sidecarNames) }
        } catch {
            result = InvocationResult(id: invocation.id, tool: invocation.entry.manifest.name, status: .failed,
                                      output: ["error": .string(error.message), "code": .string(error.code)],
                                      errorCode: error.code, traceId: invocation.trace.traceId)
        }
        if invocation.handle.isCancelled && result.status != .timedOut {
            result.status = .cancelled
            result.errorCode = "cancelled"
        }
        result.durationMs = Int((monotonicNanos() - started) / 1_000_000)
        return result
    }

    /// Creates `$TOOL_OUTPUT_DIR` for an invocation; returns its absolute and relative paths.
    func makeOutputDirectory(_ invocation: ToolInvocation) throws(SupervisorError) -> (absolute: String, relative: String) {
        let relative = try workspace.makeDirectory("\(outputsDirectory)/\(invocation.id)")
        return (workspace.root + "/" + relative, relative)
    }

    /// Files the tool left in its output directory (removed again when empty).
    func collectArtifacts(relative: String) -> [InvocationArtifact] {
        let entries = (try? workspace.list(relative, recursive: true)) ?? []
        let files = entries.filter { $0.type == "file" }.map { InvocationArtifact(path: $0.path, size: $0.size) }
        if entries.isEmpty { _ = rmdir(workspace.root + "/" + relative) }
        return files
    }

    private func runExternal(_ invocation: ToolInvocation) async throws(SupervisorError) -> InvocationResult {
        let manifest = invocation.entry.manifest
        guard let command = manifest.command, let first = command.first else {
            throw SupervisorError("invalid_manifest", "\(manifest.name) has no command")
        }
        let executable = first.hasPrefix("/") ? first : "\(invocation.entry.directory)/\(first)"
        let output = try makeOutputDirectory(invocation)
        // Secrets (connector credentials among them) may have changed since the supervisor
        // started: a tool that declares any gets the current values, or the held ones when the
        // control plane does not answer.
        if !manifest.secrets.isEmpty { await secrets.refresh() }
        let stdin: [UInt8]
        do { stdin = Array(try JSONEncoder().encode(invocation.arguments)) } catch {
            throw SupervisorError("invalid_arguments", "arguments could not be encoded", status: 400, underlying: error)
        }
        let spec = ProcessSpec(
            executable: executable, arguments: [executable] + command.dropFirst(),
            environment: environment(for: invocation, outputDirectory: output.absolute),
            workingDirectory: workspace.root, user: toolUser, stdin: stdin, timeout: invocation.timeout,
            maxStdoutBytes: manifest.maxOutputBytes ?? (1 << 20))
        let outcome = try await processes.run(spec, handle: invocation.handle)
        var result = InvocationResult(
            id: invocation.id, tool: manifest.name, status: .succeeded, exitCode: Int(outcome.exitStatus),
            stderrTail: String(decoding: outcome.stderrTail, as: UTF8.self),
            artifacts: collectArtifacts(relative: output.relative), traceId: invocation.trace.traceId)
        let parsed: JSONValue? = outcome.stdout.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 })
            ? .null : try? JSONDecoder().decode(JSONValue.self, from: Data(outcome.stdout))
        result.output = parsed ?? .null
        if outcome.timedOut {
            result.status = .timedOut
            result.errorCode = "timeout"
        } else if outcome.cancelled {
            result.status = .cancelled
            result.errorCode = "cancelled"
        } else if outcome.stdoutTruncated {
            result.status = .failed
            result.errorCode = "output_too_large"
            result.output = .null
        } else if outcome.exitStatus != 0 {
            result.status = .failed
            result.errorCode = outcome.exitStatus < 0 ? "killed" : "exit_nonzero"
        } else if parsed == nil {
            result.status = .failed
            result.errorCode = "invalid_output"
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#endif
