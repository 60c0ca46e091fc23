#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// Exits, stops, crash restarts, idleness and shutdown.
extension SidecarLifecycle {
    /// `name`'s process `pid` exited with `status` (exit code, or minus the signal). A stale
    /// `pid` (already handled, or replaced) changes nothing.
    ///
    /// Exiting while ready, wanted and not shutting down is a crash: it goes to
    /// ``SidecarManager/State/backoff`` with the delay of its backoff policy (the run of crashes
    /// starts again after ``SidecarSpec/Backoff/resetAfter`` of uptime), its dependents are
    /// stopped but stay wanted, and a restart is scheduled. Exiting while starting (the launch
    /// reports the failure) or while stopping (asked for) is not a crash.
    /// - Parameter logTail: the end of its log, for the crash's detail.
    mutating func exited(_ name: String, pid: pid_t, status: Int32, at now: Moment, logTail: String) -> [Action] {
        guard var slot = slots[name], slot.pid == pid else { return [] }
        // Whatever it left behind in its process group goes with it.
        var actions: [Action] = [.signal(pid: pid, SIGKILL)]
        let requested = slot.state == .stopping
        let crashed = slot.state == .ready
        slot.lastExit = SidecarHealth.Exit(status: Int(status), at: now.wall, requested: requested)
        slot.pid = nil
        guard crashed, slot.wanted, !closed else {
            slot.state = .stopped
            slots[name] = slot
            if !requested {
                actions.append(.log(Log(level: .warning, message: "sidecar exited", metadata: ["sidecar": name, "status": "\(status)"])))
            }
            return actions
        }
        let upFor = Duration.nanoseconds(Int64(clamping: now.monotonic.subtractingSaturated(slot.startedMonotonic)))
        slot.crashesInRow = upFor >= slot.spec.backoff.resetAfter ? 1 : slot.crashesInRow + 1
        slot.restarts += 1
        let delay = slot.spec.backoff.delay(afterCrashes: slot.crashesInRow)
        let restartAt = now.monotonic + delay.nanoseconds
        slot.state = .backoff
        slot.restartAt = restartAt
        slot.detail = "exited with status \(status); restarting in \(delay); its log ends: \(logTail)"
        slots[name] = slot
        actions.append(.log(Log(level: .warning, message: "sidecar crashed; restarting", metadata: [
            "sidecar": name, "status": "\(status)", "restarts": "\(slot.restarts)", "delay": "\(delay)",
        ])))
        for dependent in dependents(of: name) {
            slots[dependent]?.detail = "stopped because \(name) exited with status \(status)"
            actions.append(.stop(dependent, keepWanted: true))
        }
        actions.append(.scheduleRestart(name, at: restartAt))
        return actions
    }

    /// A stop of `name` was asked for, and its dependents are stopped already. `keepWanted`
    /// (a dependency went away) means it is started again with that dependency. A pending
    /// restart is dropped; a process is terminated (its exit is reported as asked for).
    mutating func stopRequested(_ name: String, keepWanted: Bool) -> [Action] {
        guard var slot = slots[name] else { return [] }
        defer { slots[name] = slot }
        if !keepWanted { slot.wanted = false }
        switch slot.state {
        case .stopped, .stopping:
            return []
        case .backoff:
            slot.state = .stopped
            slot.restartAt = nil
            return []
        case .starting, .ready:
            guard let pid = slot.pid else {
                slot.state = .stopped
                return []
            }
            slot.state = .stopping
            return [.terminate(name, pid: pid)]
        }
    }

    /// The clock reached `now`: restarts whose backoff has elapsed begin, each once its
    /// dependents are down.
    mutating func backoffElapsed(at now: UInt64) -> [Action] {
        guard !closed else { return [] }
        var actions: [Action] = []
        for name in order {
            guard var slot = slots[name], slot.state == .backoff, let at = slot.restartAt, at <= now, dependentsDown(name) else {
                continue
            }
            slot.restartAt = nil
            slots[name] = slot
            actions.append(.restart(name))
        }
        return actions
    }

    /// Whether the restart of `name` that began is still wanted (it was not stopped or started
    /// by someone else meanwhile).
    func restartStillPending(_ name: String) -> Bool {
        !closed && slots[name]?.state == .backoff && slots[name]?.restartAt == nil
    }

    /// The restart of `name` made it ready: its wanted dependents that were stopped with it
    /// start again, dependents first.
    mutating func restarted(_ name: String) -> [Action] {
        slots[name]?.detail = nil
        return dependents(of: name).filter { slots[$0]?.wanted == true && slots[$0]?.state == .stopped }.map { .start($0) }
    }

    /// The restart of `name` failed with `message` at `now` (monotonic): unless it was stopped
    /// meanwhile, the next one is scheduled one backoff step later.
    mutating func restartFailed(_ name: String, message: String, at now: UInt64) -> [Action] {
        guard !closed, var slot = slots[name], slot.wanted else { return [] }
        // `.backoff` without a due time: the restart failed before launching it (a dependency).
        guard slot.state == .stopped || (slot.state == .backoff && slot.restartAt == nil) else { return [] }
        slot.crashesInRow += 1
        let delay = slot.spec.backoff.delay(afterCrashes: slot.crashesInRow)
        let restartAt = now + delay.nanoseconds
        slot.state = .backoff
        slot.restartAt = restartAt
        slot.detail = "\(message); retrying in \(delay)"
        slots[name] = slot
        return [.scheduleRestart(name, at: restartAt)]
    }

    /// The idle check at `now` (monotonic): ready sidecars unused for longer than `timeout` are
    /// stopped, dependents first, except pinned ones (eager, or an eager one's dependency) and
    /// ones a running or starting dependent still needs.
    mutating func idleTick(at now: UInt64, timeout: Duration) -> [Action] {
        let limit = timeout.nanoseconds
        var stopping: Set<String> = []
        var actions: [Action] = []
        for name in order.reversed() where !pinned.contains(name) {
            guard let slot = slots[name], slot.state == .ready, slot.holds == 0, now.subtractingSaturated(slot.lastUsed) > limit
            else { continue }
            let needed = dependents(of: name).contains { dependent in
                !stopping.contains(dependent) && [.ready, .starting].contains(slots[dependent]?.state)
            }
            if needed { continue }
            stopping.insert(name)
            actions.append(.log(Log(level: .info, message: "stopping idle sidecar", metadata: ["sidecar": name])))
            actions.append(.stop(name, keepWanted: false))
        }
        return actions
    }

    /// The supervisor shuts down: every sidecar is stopped (dependents first), later starts
    /// are refused and nothing is restarted.
    mutating func shutdown() -> [Action] {
        closed = true
        return order.reversed().map { .stop($0, keepWanted: false) }
    }
}
