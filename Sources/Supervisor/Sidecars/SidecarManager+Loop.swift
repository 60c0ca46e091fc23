import PersonaCore
#if canImport(Glibc)
import Glibc
#endif

/// The loop: watches every sidecar process's exit, restarts crashed ones when their backoff
/// has elapsed and stops idle ones.
extension SidecarManager {
    /// Starts the eager sidecars, then watches the processes, restarts crashed sidecars and
    /// (with an ``idleTimeout``) stops idle ones, until cancelled or shut down. The supervisor
    /// runs it as one of its service loops: crash restarts happen only while it runs.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.startEager() }
            await drive(idle: idleTimeout)
        }
    }

    private func startEager() async {
        for name in lifecycle.eager {
            do { try await start(name) } catch {
                logger.error("eager sidecar did not start", metadata: ["sidecar": "\(name)", "error": "\(error.message)"])
            }
        }
    }

    /// One loop: sleeps until the earliest due restart or idle check, or until woken (an exit,
    /// a new process, a scheduled restart), and does what is due. Watchers, restarts and idle
    /// stops are its child tasks, so it keeps watching while they wait.
    private func drive(idle: Duration?) async {
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
                let deadline = [nextIdleCheck, lifecycle.nextRestart].compactMap { $0 }.min()
                await wake.wait(upTo: deadline.map { .nanoseconds($0.subtractingSaturated(monotonicNanos())) })
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
