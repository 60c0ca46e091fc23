import Foundation
import Logging
import PersonaKit
import Prometheus
import ServiceLifecycle
import Synchronization
import LLM
import StateGraph
import PersonaCore
import Containers
import PersonaStorage
import Tools

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

    package let database: Database
    /// What the runs' tool calls go through (the persona's container).
    package let containers: ContainerManager
    package let metrics: PrometheusCollectorRegistry
    /// Opened once migrations ran; loops wait on it before their first query.
    package let startup: Gate
    package let runs = RunRepository()
    package let llm: LLMClient
    package let tools: any ToolInvoker
    /// Ranks tools for agents whose `toolSelection` mode is `search`.
    package let toolSearch: ToolSearch?
    package let configuration: Configuration
    package let wakeUp: Wakeup
    package let logger: Logger

    package init(database: Database, containers: ContainerManager, metrics: PrometheusCollectorRegistry, startup: Gate,
                 llm: LLMClient, tools: any ToolInvoker, toolSearch: ToolSearch? = nil, configuration: Configuration, wakeUp: Wakeup,
                 logger: Logger) {
        self.database = database
        self.containers = containers
        self.metrics = metrics
        self.startup = startup
        self.llm = llm
        self.tools = tools
        self.toolSearch = toolSearch
        self.configuration = configuration
        self.wakeUp = wakeUp
        self.logger = logger
    }

    public func run() async throws {
        await startup.wait()
        await withDiscardingTaskGroup { group in
            let active = RunCounter()
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var claimed: Run?
                if active.current < configuration.maxConcurrentRuns {
                    do {
                        claimed = try await database.transaction { tx in
                            try await runs.claim(owner: configuration.owner, leaseSeconds: configuration.leaseSeconds,
                                                          now: Date(), on: tx, kind: database.kind)
                        }
                    } catch {
                        logger.warning("claiming a run failed", metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
                guard let run = claimed else {
                    await wakeUp.wait(upTo: configuration.pollInterval)
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
    package func execute(_ run: Run) async {
        var logger = self.logger
        logger[metadataKey: "trace_id"] = .string(run.traceId)
        logger[metadataKey: "run_id"] = .string(run.id)
        let owner = configuration.owner
        let outcome: (RunStatus, String?, String?)
        let (result, stopRequested) = await executeWithHeartbeat(run, owner: owner, logger: logger)
        if case .failure(let error) = result, error is CancellationError, !stopRequested {
            // The worker itself was cancelled (the process stops), not the run: leave it
            // claimed; its lease runs out and a worker resumes it from its last checkpoint.
            logger.info("run interrupted by shutdown; it resumes from its last checkpoint")
            return
        }
        do {
            outcome = (.completed, try result.get(), nil)
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
        do {
            try await database.transaction { tx in
                guard try await runs.finish(id: run.id, owner: owner, status: outcome.0, output: outcome.1,
                                                     error: outcome.2, now: Date(), on: tx) else { return }
                try await runs.appendEvent(runId: run.id, type: "status", data: [
                    "status": .string(outcome.0.rawValue), "output": outcome.1.map { .string($0) } ?? .null,
                    "error": outcome.2.map { .string($0) } ?? .null,
                ], now: Date(), on: tx)
            }
            database.eventsWritten.signal()
            logger.info("run finished", metadata: ["status": .string(outcome.0.rawValue)])
        } catch {
            logger.error("recording a run's end failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}


extension RunWorker {
    private enum Piece: Sendable {
        case finished(Result<String, any Error>)
        /// The cancel flag was set or the lease was lost.
        case stopRequested
        /// The heartbeat was cancelled (the run finished, or the worker stops).
        case heartbeatEnded
    }

    /// Runs the graph beside its heartbeat, both child tasks of the caller (so cancelling the
    /// worker cancels them): the heartbeat extends the lease and reads the cancel flag every
    /// ``Configuration/heartbeatInterval``; a set flag (or a lost lease) cancels the run,
    /// which cancels its in-flight LLM or tool call. Returns the run's output or its error,
    /// and whether the heartbeat stopped it.
    private func executeWithHeartbeat(_ run: Run, owner: String,
                                      logger: Logger) async -> (Result<String, any Error>, stopRequested: Bool) {
        await withTaskGroup(of: Piece.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await RunExecution(database: database, containers: containers, metrics: metrics,
                                                                     llm: llm, tools: tools, toolSearch: toolSearch, run: run,
                                                                     owner: owner).execute()))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                await heartbeat(run, owner: owner, logger: logger)
                return Task.isCancelled ? .heartbeatEnded : .stopRequested
            }
            var result: Result<String, any Error> = .failure(CancellationError())
            var stopRequested = false
            while let piece = await group.next() {
                switch piece {
                case .finished(let finished):
                    result = finished
                    group.cancelAll()  // ends the heartbeat
                case .stopRequested:
                    stopRequested = true
                    group.cancelAll()  // cancels the run; its result follows
                case .heartbeatEnded:
                    break
                }
            }
            return (result, stopRequested)
        }
    }

    /// Beats until the task is cancelled (the run ended), or returns when the run's cancel
    /// flag is set or its lease was lost.
    private func heartbeat(_ run: Run, owner: String, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.heartbeatInterval)
            } catch {
                return
            }
            let state: Bool?
            do {
                state = try await database.withConnection {
                    try await runs.heartbeat(id: run.id, owner: owner, leaseSeconds: configuration.leaseSeconds, now: Date(), on: $0)
                }
            } catch {
                // A failed beat is tried again at the next one; ending here would leave the
                // run without cancel checks and its lease unrenewed.
                logger.warning("run heartbeat failed", metadata: ["error": "\(String(reflecting: error))"])
                continue
            }
            if state != false { return }  // cancel requested (true) or lease lost (nil)
        }
    }
}

/// How many runs this worker is executing.
package final class RunCounter: Sendable {
    private let value = Mutex(0)
    package var current: Int { value.withLock { $0 } }
    package func add(_ delta: Int) { value.withLock { $0 += delta } }
}
