#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PersonaCore
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// Owns the sidecars: starts one (dependencies first) when a tool first needs it or at boot
/// when it is eager, checks readiness, restarts a crashed one with backoff (its dependents go
/// down and come back with it), stops the ones unused for ``idleTimeout`` and reports each
/// one's state, pid, restarts, last exit and memory.
///
/// The decisions are ``SidecarLifecycle``'s; this actor carries out the actions it returns
/// (spawning, probing, signals, waiting for exits) and runs the loop that watches the
/// processes and restarts crashed ones (``run()``).
public actor SidecarManager {
    public enum State: String, Sendable {
        case stopped, starting, ready, backoff, stopping
    }

    var lifecycle: SidecarLifecycle
    /// The exit of each process that runs, by pid: registered at its spawn, dropped at its exit.
    var waiters: [pid_t: ExitWaiter] = [:]
    /// Launches under way. A `Task` because one launch is shared by every caller waiting for
    /// that sidecar, and one caller giving up (cancelled) must not abort it for the others;
    /// each is awaited by its callers and by ``shutdown(grace:)``, and removes itself.
    var launches: [String: Task<Void, any Error>] = [:]
    let processes: ProcessRunner
    let logDirectory: String
    /// `nil`: never stop for idleness.
    public nonisolated let idleTimeout: Duration?
    /// Declaration order (dependencies before dependents).
    public nonisolated let names: [String]
    let logger: Logger
    /// Wakes the loop early: a process to watch, an exit handled, a restart scheduled, shutdown.
    let wake = Wakeup()

    /// - Parameters:
    ///   - logDirectory: each sidecar's stdout and stderr go to `<name>.log` there (root-only).
    ///   - idleTimeout: unused this long, a sidecar is stopped (`nil`: never).
    ///   - eager: started by ``run()`` and kept running, with their dependencies.
    public init(specs: [SidecarSpec], processes: ProcessRunner, logDirectory: String, idleTimeout: Duration?,
                eager: [String] = [], logger: Logger) {
        lifecycle = SidecarLifecycle(specs: specs, eager: eager)
        names = specs.map(\.name)
        self.processes = processes
        self.logDirectory = logDirectory
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    /// Starts `names` (and what they depend on) unless they are ready, waits until they are,
    /// and marks them used.
    /// - Throws: `sidecar_unavailable` (not installed), `sidecar_failed` (exited or never
    ///   became ready, with the end of its log), `shutting_down`.
    public func ensureReady(_ names: [String]) async throws(SupervisorError) {
        // Held while this caller waits: a dependency that became ready must not be stopped for
        // idleness before the dependent that needs it has started.
        lifecycle.held(names)
        defer { lifecycle.released(names) }
        await noticeExits()
        for name in names { try await start(name) }
        touch(names)
    }

    /// Handles exits the reaper has delivered but whose handler has not run yet, so a sidecar
    /// killed a moment ago is not taken for ready.
    public func noticeExits() async {
        for (name, pid) in lifecycle.processes {
            guard let status = waiters[pid]?.status else { continue }
            await processExited(name, pid: pid, status: status)
        }
    }

    /// Marks `names` and their dependencies used now (a long tool call ends).
    public func touch(_ names: [String]) {
        lifecycle.touched(names, at: moment())
    }

    public func state(_ name: String) -> State? { lifecycle.state(name) }

    /// Pid of a running sidecar.
    public func pid(_ name: String) -> pid_t? { lifecycle.pid(name) }

    /// Stops `name` and its dependents: `SIGTERM` to the process group, `SIGKILL` after
    /// `grace`. `keepWanted` (a dependency went away) means it is started again with it.
    public func stop(_ name: String, keepWanted: Bool = false, grace: Duration = .seconds(3)) async {
        for dependent in lifecycle.dependents(of: name) { await stop(dependent, keepWanted: keepWanted, grace: grace) }
        let actions = lifecycle.stopRequested(name, keepWanted: keepWanted)
        guard !actions.isEmpty else { return }
        await perform(actions, grace: grace)
        logger.info("sidecar stopped", metadata: ["sidecar": "\(name)", "keepWanted": "\(keepWanted)"])
    }

    /// Stops everything (supervisor shutdown); later starts fail with `shutting_down`.
    public func shutdown(grace: Duration = .seconds(2)) async {
        let actions = lifecycle.shutdown()
        wake.signal()
        await perform(actions, grace: grace)
        // Each ends promptly now that its sidecar is stopped (one still in `prepare` kills
        // what it spawns), so nothing is left running when this returns.
        for launch in launches.values { _ = await launch.result }
    }

    /// Each sidecar's state, with the memory of its process tree measured now.
    public func health() -> [SidecarHealth] {
        let tree = lifecycle.processes.isEmpty ? ProcessTree() : ProcessTree.snapshot()
        return names.compactMap { name in
            guard let slot = lifecycle.slot(name) else { return nil }
            return SidecarHealth(
                name: name, state: slot.state.rawValue, detail: slot.detail, pid: slot.pid.map(Int.init), restarts: slot.restarts,
                lastExit: slot.lastExit, memoryBytes: slot.pid.map { tree.memoryBytes(ofTree: $0) }, startedAt: slot.startedAt,
                lastUsedAt: slot.lastUsedAt, readyMs: slot.readyMs, eager: lifecycle.pinned.contains(name))
        }
    }

    /// Starts `name`'s dependencies, then `name`, each unless ready, and waits for each.
    func start(_ name: String) async throws(SupervisorError) {
        for step in lifecycle.startOrder(for: name) {
            let launch: Task<Void, any Error>
            switch lifecycle.startRequested(step) {
            case .refuse(let error):
                throw error
            case .ready:
                continue
            case .join:
                // Always there: `.join` comes only while the launch stored below runs.
                guard let running = launches[step] else { continue }
                launch = running
            case .launch:
                launch = Task { try await self.launch(step) }
                launches[step] = launch
            }
            do {
                try await launch.value
            } catch let error as SupervisorError {
                throw error
            } catch {
                throw SupervisorError("sidecar_failed", "\(step) could not start", status: 503, underlying: error)
            }
        }
    }

    /// The reaper delivered `pid`'s exit (stale ones change nothing).
    func processExited(_ name: String, pid: pid_t, status: Int32) async {
        // Only a crash's detail quotes the log.
        let crash = lifecycle.pid(name) == pid && lifecycle.state(name) == .ready
        let actions = lifecycle.exited(name, pid: pid, status: status, at: moment(),
                                       logTail: crash ? logTail("\(logDirectory)/\(name).log") : "")
        // A reused pid may belong to a newer process by now: drop only this exited one.
        if waiters[pid]?.status != nil { waiters[pid] = nil }
        wake.signal()
        await perform(actions)
    }

    /// Carries out `actions` in order.
    func perform(_ actions: [SidecarLifecycle.Action], grace: Duration = .seconds(3)) async {
        for action in actions {
            switch action {
            case .signal(let pid, let signal):
                kill(-pid, signal)
            case .terminate(let name, let pid):
                await terminate(name, pid: pid, grace: grace)
            case .stop(let name, let keepWanted):
                await stop(name, keepWanted: keepWanted, grace: grace)
            case .scheduleRestart:
                wake.signal()
            case .restart(let name):
                await restart(name)
            case .start(let name):
                // A failure is logged by the launch and left for the next use.
                _ = try? await start(name)
            case .log(let log):
                logger.log(level: log.level, "\(log.message)", metadata: log.metadata.mapValues { .string($0) })
            }
        }
    }

    /// `SIGTERM` to `pid`'s process group, `SIGKILL` after `grace`, and its exit handled.
    private func terminate(_ name: String, pid: pid_t, grace: Duration) async {
        kill(-pid, SIGTERM)
        guard let waiter = waiters[pid] else {
            // Unreachable: a running process's waiter stays until its exit is handled.
            kill(-pid, SIGKILL)
            return
        }
        let deadline = monotonicNanos() + grace.nanoseconds
        while waiter.status == nil && monotonicNanos() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if waiter.status == nil { kill(-pid, SIGKILL) }
        await processExited(name, pid: pid, status: await waiter.wait())
    }

    /// Now, for the lifecycle's events.
    func moment() -> SidecarLifecycle.Moment {
        SidecarLifecycle.Moment(monotonic: monotonicNanos(), wall: Date())
    }
}
