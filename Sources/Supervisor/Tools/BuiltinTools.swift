#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit

/// Tools compiled into the supervisor. Each is still described by a manifest under
/// `tools/<name>/tool.json` with `"builtin": true`, which is where its input schema lives.
enum BuiltinTools {
    static let names: Set<String> = Set(["shell", "read_file", "write_file", "list_files", "http_fetch", "memory_search"])
        .union(BrowserTools.actions.keys)

    static func run(_ invocation: ToolInvocation, context: ToolContext) async throws(SupervisorError) -> InvocationResult {
        let args = invocation.arguments
        let name = invocation.entry.manifest.name
        var result = InvocationResult(id: invocation.id, tool: name, status: .succeeded, traceId: invocation.trace.traceId)
        switch name {
        case "shell":
            return try await shell(invocation, context: context)
        case "read_file":
            let path = args["path"]?.stringValue ?? ""
            let limit = min(args["maxBytes"]?.intValue ?? (1 << 20), 16 << 20)
            let bytes = try context.workspace.readFile(path, limit: limit)
            let asText = args["encoding"]?.stringValue != "base64"
            let text = asText ? String(validating: bytes, as: UTF8.self) : nil
            result.output = [
                "path": .string(path), "size": .number(Double(bytes.count)),
                "encoding": .string(text == nil ? "base64" : "utf8"),
                "content": .string(text ?? Data(bytes).base64EncodedString()),
            ]
        case "write_file":
            let path = args["path"]?.stringValue ?? ""
            let content = args["content"]?.stringValue ?? ""
            let bytes: [UInt8]
            if args["encoding"]?.stringValue == "base64" {
                guard let data = Data(base64Encoded: content) else {
                    throw SupervisorError("validation_failed", "content is not valid base64", status: 400)
                }
                bytes = Array(data)
            } else {
                bytes = Array(content.utf8)
            }
            try context.workspace.writeFile(path, bytes, createDirectories: args["createDirectories"]?.boolValue ?? true,
                                            append: args["append"]?.boolValue ?? false)
            result.output = ["path": .string(path), "bytesWritten": .number(Double(bytes.count))]
        case "list_files":
            let path = args["path"]?.stringValue ?? "."
            let entries = try context.workspace.list(path, recursive: args["recursive"]?.boolValue ?? false,
                                                     limit: min(args["limit"]?.intValue ?? 1000, 10_000))
            result.output = [
                "path": .string(path),
                "entries": .array(entries.map { ["path": .string($0.path), "type": .string($0.type), "size": .number(Double($0.size))] }),
            ]
        case "http_fetch":
            return try await HTTPFetchTool.run(invocation, context: context)
        case "memory_search":
            return try await MemorySearchTool.run(invocation, context: context)
        case _ where BrowserTools.actions[name] != nil:
            return try await BrowserTools.run(invocation, context: context)
        default:
            throw SupervisorError("unknown_tool", "no built-in tool named \(name)", status: 404)
        }
        return result
    }

    /// `shell`: `bash -c <command>` in the workspace as the tool user, its own process group,
    /// through the same spawn path as every external tool.
    static func shell(_ invocation: ToolInvocation, context: ToolContext) async throws(SupervisorError) -> InvocationResult {
        let args = invocation.arguments
        let command = args["command"]?.stringValue ?? ""
        var directory = context.workspace.root
        if let cwd = args["cwd"]?.stringValue {
            let workspace = context.workspace
            let location = try workspace.asOwner { () throws(SupervisorError) in try workspace.resolve(cwd, createDirectories: false) }
            close(location.parent)
            guard location.exists else { throw SupervisorError.notFound("no such directory: \(cwd)") }
            directory = location.relativePath.isEmpty ? context.workspace.root : context.workspace.root + "/" + location.relativePath
        }
        let output = try context.makeOutputDirectory(invocation)
        let maxOutput = invocation.entry.manifest.maxOutputBytes ?? (1 << 20)
        let spec = ProcessSpec(
            executable: context.shellPath, arguments: ["bash", "-c", command],
            environment: context.environment(for: invocation, outputDirectory: output.absolute),
            workingDirectory: directory, user: context.toolUser,
            stdin: Array((args["stdin"]?.stringValue ?? "").utf8), timeout: invocation.timeout,
            maxStdoutBytes: maxOutput, stderrTailBytes: min(maxOutput, 64 << 10))
        let outcome = try await context.processes.run(spec, handle: invocation.handle)
        let stderr = String(decoding: outcome.stderrTail, as: UTF8.self)
        var result = InvocationResult(
            id: invocation.id, tool: "shell", status: .succeeded, exitCode: Int(outcome.exitStatus),
            stderrTail: String(stderr.suffix(4096)), artifacts: context.collectArtifacts(relative: output.relative),
            traceId: invocation.trace.traceId)
        result.output = [
            "stdout": .string(String(decoding: outcome.stdout, as: UTF8.self)),
            "stderr": .string(stderr),
            "exitCode": .number(Double(outcome.exitStatus)),
            "truncated": .bool(outcome.stdoutTruncated),
        ]
        if outcome.timedOut {
            result.status = .timedOut
            result.errorCode = "timeout"
        } else if outcome.cancelled {
            result.status = .cancelled
            result.errorCode = "cancelled"
        } else if outcome.exitStatus != 0 {
            result.status = .failed
            result.errorCode = outcome.exitStatus < 0 ? "killed" : "exit_nonzero"
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#endif
