#if canImport(Glibc)
import Glibc
#endif

/// The loop: watches every sidecar process's exit, restarts crashed ones when their backoff
/// has elapsed and stops idle ones.
extension SidecarManager {
    /// Starts the eager sidecars, then watches the processes, restarts crashed sidecars and
    /// (with an ``idleTimeout``) stops idle ones, until cancelled or shut down. The supervisor
    /// runs it as one of its service loops; while it does not run, the manager runs the same
    /// loop itself whenever a process must be watched.
    public func run() async {
        if let fallback = fallbackLoop {
            // It sees the cancellation before acting again; what it began finishes by itself.
            fallbackGeneration += 1
            fallbackLoop = nil
            fallback.cancel()
        }
        looping = true
        await withDiscardingTaskGroup { group in
            group.addTask { await self.startEager() }
            await drive(idle: idleTimeout, untilQuiet: false)
        }
        looping = false
        needLoop()
    }

    private func startEager() async {
        for name in lifecycle.eager {
            do { try await start(name) } catch {
                logger.error("eager sidecar did not start", metadata: ["sidecar": "\(name)", "error": "\(error.message)"])
            }
        }
    }

    /// Makes sure a loop watches what runs: wakes it, or starts the fallback loop when
    /// ``run()`` is not looping and something must be watched or restarted.
    func needLoop() {
        guard !looping, fallbackLoop == nil, !lifecycle.closed, !lifecycle.isQuiet else {
            wake.signal()
            return
        }
        fallbackGeneration += 1
        let generation = fallbackGeneration
        fallbackLoop = Task { await self.runFallback(generation) }
    }

    private func runFallback(_ generation: Int) async {
        await drive(idle: nil, untilQuiet: true)
        guard fallbackGeneration == generation else { return }
        fallbackLoop = nil
        // Something may have started while it wound down.
        needLoop()
    }

    /// One loop: sleeps until the earliest due restart or idle check, or until woken (an exit,
    /// a new process, a scheduled restart), and does what is due. Watchers, restarts and idle
    /// stops are its child tasks, so it keeps watching while they wait.
    /// - Parameter untilQuiet: return once no process runs and no restart is pending.
    private func drive(idle: Duration?, untilQuiet: Bool) async {
        let interval = idle.map { min(max($0 / 4, .milliseconds(50)), .seconds(5)) }
        var nextIdleCheck = interval.map { monotonicNanos() + $0.nanoseconds }
        await withDiscardingTaskGroup { group in
            var watched: Set<ObjectIdentifier> = []
            while !Task.isCancelled && !lifecycle.closed {
                var running: Set<ObjectIdentifier> = []
                for (name, pid) in lifecycle.processes {
                    guard let waiter = waiters[pid] else { continue }
                    running.insert(ObjectIdentifier(waiter))
                    guard watched.insert(ObjectIdentifier(waiter)).inserted else { continue }
                    group.addTask {
                        guard let status = await waiter.waitUnlessCancelled() else { return }
                        await self.processExited(name, pid: pid, status: status)
                    }
                }
                watched.formIntersection(running)
                let now = monotonicNanos()
                for restart in lifecycle.backoffElapsed(at: now) {
                    group.addTask { await self.perform([restart]) }
                }
                if let idle, let interval, let due = nextIdleCheck, now >= due {
                    let stops = lifecycle.idleTick(at: now, timeout: idle)
                    if !stops.isEmpty { group.addTask { await self.perform(stops) } }
                    nextIdleCheck = now + interval.nanoseconds
                }
                if untilQuiet && lifecycle.isQuiet { break }
                let deadline = [nextIdleCheck, lifecycle.nextRestart].compactMap { $0 }.min()
                await wake.wait(for: deadline.map { .nanoseconds($0.subtractingSaturated(monotonicNanos())) })
            }
            group.cancelAll()
        }
    }

    /// Starts `name` again after its crash, unless it was stopped or started meanwhile; its
    /// dependents follow, or the next attempt is scheduled.
    func restart(_ name: String) async {
        guard lifecycle.restartStillPending(name) else { return }
        do {
            try await start(name)
            await perform(lifecycle.restarted(name))
        } catch {
            await perform(lifecycle.restartFailed(name, message: error.message, at: monotonicNanos()))
        }
    }
}
