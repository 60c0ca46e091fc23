import PersonaKit

/// `memory_search`: the persona's memory, searched inside the container through the
/// ``MemoryService`` (sync first, then vector search, full text as the fallback).
enum MemorySearchTool {
    static func run(_ invocation: ToolInvocation, context: ToolContext) async throws(SupervisorError) -> InvocationResult {
        guard let memory = context.memory else {
            throw SupervisorError("memory_unavailable", "this supervisor has no memory cache", status: 503)
        }
        let args = invocation.arguments
        let found = try await memory.search(args["query"]?.stringValue ?? "", limit: args["limit"]?.intValue ?? 5)
        let results: [JSONValue] = found.results.map { hit in
            [
                "chunkId": .string(hit.chunkId), "documentId": hit.documentId.map(JSONValue.string) ?? .null,
                "documentName": hit.documentName.map(JSONValue.string) ?? .null, "text": .string(hit.text),
                "curated": .bool(hit.curated), "score": .number(hit.score),
            ]
        }
        return InvocationResult(
            id: invocation.id, tool: invocation.entry.manifest.name, status: .succeeded,
            output: ["mode": .string(found.mode), "synced": .bool(found.synced), "version": .number(Double(found.version)),
                     "results": .array(results)],
            traceId: invocation.trace.traceId)
    }
}
