import Foundation
import Logging
import PersonaKit
import ServiceLifecycle
import Synchronization

/// Claims queued runs from the database (with a lease, so several control planes on
/// PostgreSQL share the work and a crashed one's runs are picked up) and executes them.
/// While a run executes, its lease is extended every second and its cancel flag is read; a
/// set flag cancels the run's task, which cancels the in-flight LLM call or tool call.
public struct RunWorker: Service {
    public struct Configuration: Sendable {
        public var owner = "worker-" + Identifier.make()
        public var leaseSeconds: Double = 10
        public var pollInterval: Duration = .milliseconds(250)
        public var heartbeatInterval: Duration = .milliseconds(500)
        public var maxConcurrentRuns = 16
        public init() {}
    }

    let services: AppServices
    let llm: LLMClient
    let tools: any ToolInvoker
    let configuration: Configuration
    let wakeUp: RunWakeUp
    let logger: Logger

    public func run() async throws {
        await services.startup.wait()
        await withDiscardingTaskGroup { group in
            let active = RunCounter()
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var claimed: Run?
                if active.current < configuration.maxConcurrentRuns {
                    do {
                        claimed = try await services.database.transaction { tx in
                            try await services.runs.claim(owner: configuration.owner, leaseSeconds: configuration.leaseSeconds,
                                                          now: Date(), on: tx, kind: services.database.kind)
                        }
                    } catch {
                        logger.warning("claiming a run failed", metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
                guard let run = claimed else {
                    await wakeUp.wait(timeout: configuration.pollInterval)
                    continue
                }
                active.add(1)
                group.addTask {
                    await execute(run)
                    active.add(-1)
                    wakeUp.signal()
                }
            }
        }
    }

    /// Executes one claimed run to a final status (or until the lease is lost).
    func execute(_ run: Run) async {
        var logger = self.logger
        logger[metadataKey: "trace_id"] = .string(run.traceId)
        logger[metadataKey: "run_id"] = .string(run.id)
        let owner = configuration.owner
        let outcome: (RunStatus, String?, String?)
        let work = Task { try await RunExecution(services: services, llm: llm, tools: tools, run: run, owner: owner).execute() }
        let heartbeat = Task { [logger] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: configuration.heartbeatInterval)
                } catch {
                    return
                }
                let state: Bool?
                do {
                    state = try await services.database.withConnection {
                        try await services.runs.heartbeat(id: run.id, owner: owner, leaseSeconds: configuration.leaseSeconds, now: Date(), on: $0)
                    }
                } catch {
                    // A failed beat is tried again at the next one; ending here would leave the
                    // run without cancel checks and its lease unrenewed.
                    logger.warning("run heartbeat failed", metadata: ["error": "\(String(reflecting: error))"])
                    continue
                }
                if state != false { work.cancel() }  // cancel requested (true) or lease lost (nil)
                if state == nil { return }
            }
        }
        do {
            let output = try await work.value
            outcome = (.completed, output, nil)
        } catch is CancellationError {
            outcome = (.cancelled, nil, "cancelled")
        } catch let waiting as AwaitingApproval {
            outcome = (.awaitingApproval, nil, nil)
            logger.info("run waits for approval", metadata: ["calls": "\(waiting.calls)"])
        } catch let error as GraphError where error.code == .recursionLimit {
            outcome = (.failed, nil, "the agent reached its maxSteps limit without finishing")
        } catch let error as LLMError {
            outcome = (.failed, nil, "LLM call failed: \(error.code.rawValue)\(error.status.map { " (HTTP \($0))" } ?? "")")
        } catch {
            logger.error("run failed", metadata: ["error": "\(String(reflecting: error))"])
            outcome = (.failed, nil, "internal error while running")
        }
        heartbeat.cancel()
        do {
            try await services.database.transaction { tx in
                guard try await services.runs.finish(id: run.id, owner: owner, status: outcome.0, output: outcome.1,
                                                     error: outcome.2, now: Date(), on: tx) else { return }
                try await services.runs.appendEvent(runId: run.id, type: "status", data: [
                    "status": .string(outcome.0.rawValue), "output": outcome.1.map { .string($0) } ?? .null,
                    "error": outcome.2.map { .string($0) } ?? .null,
                ], now: Date(), on: tx)
            }
            logger.info("run finished", metadata: ["status": .string(outcome.0.rawValue)])
        } catch {
            logger.error("recording a run's end failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}

/// Opens once the database is migrated: background services wait for it before their
/// first query (the service group starts them beside the HTTP server's start-up work).
public final class StartupGate: Sendable {
    private let isOpen = Mutex(false)

    public init() {}

    public func open() { isOpen.withLock { $0 = true } }

    /// Returns once ``open()`` was called, or when the task is cancelled.
    public func wait() async {
        while !isOpen.withLock({ $0 }), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Wakes the worker when a run is queued in this process, so it does not wait for the poll.
public final class RunWakeUp: Sendable {
    private let pending = Mutex(false)

    public init() {}

    public func signal() { pending.withLock { $0 = true } }

    /// Returns after `timeout`, or within ~5 ms of a ``signal()``.
    func wait(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if pending.withLock({ let was = $0; $0 = false; return was }) { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// How many runs this worker is executing.
final class RunCounter: Sendable {
    private let value = Mutex(0)
    var current: Int { value.withLock { $0 } }
    func add(_ delta: Int) { value.withLock { $0 += delta } }
}
