#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PersonaKit

/// Runs tool invocations: validates arguments against the manifest's schema, journals them
/// (an idempotency key never runs twice; a concurrent duplicate waits for the first), runs
/// built-ins in process and external tools through the ``ProcessRunner`` as the tool user,
/// emits `started`/`finished` events and supports cancel.
public actor ToolRunner {
    private struct InFlight {
        var task: Task<InvocationResult, Never>
        var tool: String
        var digest: String
    }

    /// The tools offered now (``reloadCatalog()`` reads them again).
    public private(set) var catalog: ToolCatalog
    /// Reads the tool directories (`nil`: the catalog is fixed).
    let loadCatalog: (@Sendable () -> ToolCatalog)?
    private var lastReload: ContinuousClock.Instant?
    let journal: InvocationJournal
    let context: ToolContext
    let emit: @Sendable (InvocationEvent) -> Void
    let logger: Logger
    private var inflight: [String: InFlight] = [:]
    private var running: [String: ProcessHandle] = [:]
    /// Idempotency key -> invocation id, while it runs.
    private var runningByKey: [String: String] = [:]
    /// Cancels that arrived for a key before its invocation did (kept for a minute).
    private var pendingCancels: [String: ContinuousClock.Instant] = [:]
    private var shuttingDown = false

    /// - Parameters:
    ///   - emit: receives every invocation event (the supervisor queues them in the outbox).
    ///   - loadCatalog: reads the tool directories again (uploaded tools come and go while the
    ///     container runs); `nil` keeps `catalog` for good.
    public init(catalog: ToolCatalog, journal: InvocationJournal, context: ToolContext, logger: Logger,
                loadCatalog: (@Sendable () -> ToolCatalog)? = nil, emit: @escaping @Sendable (InvocationEvent) -> Void) {
        self.catalog = catalog
        self.loadCatalog = loadCatalog
        self.journal = journal
        self.context = context
        self.logger = logger
        self.emit = emit
    }

    /// Invocations running now.
    public var runningCount: Int { running.count }

    /// Reads the tool directories again; running invocations keep the entry they started with.
    @discardableResult
    public func reloadCatalog() -> ToolCatalog {
        guard let loadCatalog else { return catalog }
        let before = Set(catalog.manifests.map { "\($0.name)@\($0.version)" })
        catalog = loadCatalog()
        lastReload = .now
        let after = Set(catalog.manifests.map { "\($0.name)@\($0.version)" })
        if before != after {
            logger.info("tools reloaded", metadata: [
                "added": "\(after.subtracting(before).sorted().joined(separator: ","))",
                "removed": "\(before.subtracting(after).sorted().joined(separator: ","))",
            ])
        }
        return catalog
    }

    /// Runs `tool` with `request` under `trace` and returns its result.
    /// - Throws: ``SupervisorError``: `unknown_tool` (404), `validation_failed` (400),
    ///   `idempotency_conflict` (409, the key was used with another tool or other arguments),
    ///   `shutting_down` (503), `storage_error`.
    public func invoke(tool name: String, request: InvocationRequest, trace: TraceContext) async throws(SupervisorError) -> InvocationResult {
        guard !shuttingDown else { throw SupervisorError("shutting_down", "the supervisor is shutting down", status: 503) }
        // A tool uploaded a moment ago may not have been announced yet: read the directories
        // again (at most once a second, so unknown names cannot make it scan in a loop).
        if catalog[name] == nil, loadCatalog != nil, lastReload.map({ ContinuousClock.now - $0 > .seconds(1) }) ?? true {
            reloadCatalog()
        }
        guard let entry = catalog[name] else { throw SupervisorError.notFound("no tool named \(name)", code: "unknown_tool") }
        let violations = JSONSchemaValidator(root: entry.manifest.inputSchema)
            .validate(request.arguments, against: entry.manifest.inputSchema)
        guard violations.isEmpty else {
            throw SupervisorError("validation_failed", "invalid arguments: " + violations.prefix(10).map(\.description).joined(separator: "; "),
                                  status: 400)
        }
        let digest = argumentsDigest(request.arguments)
        if let key = request.idempotencyKey {
            if let existing = inflight[key] {
                guard existing.tool == name, existing.digest == digest else { throw Self.conflict(key) }
                var result = await existing.task.value
                result.replayed = true
                return result
            }
            switch try journal.lookup(idempotencyKey: key) {
            case .finished(var result, let recordedDigest):
                guard result.tool == name, recordedDigest == digest else { throw Self.conflict(key) }
                result.replayed = true
                return result
            case .unfinished(let id, let tool, let recordedDigest, let traceId):
                guard tool == name, recordedDigest == digest else { throw Self.conflict(key) }
                return InvocationResult(id: id, tool: tool, status: .interrupted, errorCode: "interrupted", traceId: traceId, replayed: true)
            case .none:
                break
            }
        }
        let id = Identifier.make()
        let span = trace.child()
        try journal.begin(id: id, tool: name, idempotencyKey: request.idempotencyKey, argumentsDigest: digest, traceId: trace.traceId)
        let timeoutMs = min(max(1, request.timeoutMs ?? entry.manifest.timeoutMs), entry.manifest.timeoutMs)
        let handle = ProcessHandle()
        let invocation = ToolInvocation(id: id, entry: entry, arguments: request.arguments, trace: span,
                                        timeout: .milliseconds(timeoutMs), handle: handle)
        let context = self.context
        let task = Task { await context.execute(invocation) }
        if let key = request.idempotencyKey { inflight[key] = InFlight(task: task, tool: name, digest: digest) }
        running[id] = handle
        if let key = request.idempotencyKey {
            runningByKey[key] = id
            if pendingCancels.removeValue(forKey: key) != nil { handle.cancel() }
        }
        emit(InvocationEvent(personaId: context.personaId, bootId: context.bootId, kind: .started, invocationId: id, tool: name,
                             idempotencyKey: request.idempotencyKey, traceparent: span.traceparent, at: Date()))
        logger.info("invocation started", metadata: ["trace_id": "\(trace.traceId)", "span_id": "\(span.spanId)", "tool": "\(name)", "invocationId": "\(id)"])
        let result = await task.value
        do {
            try journal.finish(result)
        } catch {
            logger.error("could not journal a result", metadata: ["invocationId": "\(id)", "error": "\(error)"])
        }
        running[id] = nil
        if let key = request.idempotencyKey {
            inflight[key] = nil
            runningByKey[key] = nil
        }
        emit(InvocationEvent(personaId: context.personaId, bootId: context.bootId, kind: .finished, invocationId: id, tool: name,
                             idempotencyKey: request.idempotencyKey, traceparent: span.traceparent, at: Date(), result: result))
        logger.info("invocation finished", metadata: [
            "trace_id": "\(trace.traceId)", "span_id": "\(span.spanId)", "tool": "\(name)", "invocationId": "\(id)",
            "status": "\(result.status.rawValue)", "durationMs": "\(result.durationMs)",
        ])
        return result
    }

    /// Cancels a running invocation (kills its process group). Returns `false` when none runs.
    public func cancel(id: String) -> Bool {
        guard let handle = running[id] else { return false }
        handle.cancel()
        return true
    }

    /// Cancels the invocation running under `idempotencyKey`. A cancel that arrives before its
    /// invocation (the two travel on different connections) is kept for a minute and applied
    /// when the invocation starts. Returns whether one was running.
    public func cancel(idempotencyKey key: String) -> Bool {
        if let id = runningByKey[key], let handle = running[id] {
            handle.cancel()
            return true
        }
        let now = ContinuousClock.now
        pendingCancels = pendingCancels.filter { now - $0.value < .seconds(60) }
        pendingCancels[key] = now
        return false
    }

    /// Refuses new invocations and cancels the running ones (supervisor shutdown).
    public func beginShutdown() {
        shuttingDown = true
    }

    /// Cancels everything still running.
    public func cancelAll() {
        for handle in running.values { handle.cancel() }
    }

    static func conflict(_ key: String) -> SupervisorError {
        SupervisorError("idempotency_conflict", "idempotency key \(key) was used for another tool or other arguments", status: 409)
    }
}

/// One invocation on its way through ``ToolContext/execute(_:)``.
struct ToolInvocation: Sendable {
    var id: String
    var entry: ToolCatalog.Entry
    var arguments: JSONValue
    var trace: TraceContext
    var timeout: Duration
    var handle: ProcessHandle
}
