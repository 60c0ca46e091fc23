import CSupervisorShim
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import PersonaCore

/// The supervisor's only reaper, modelled on `vminitd`: one thread waits for signals, reaps
/// every exited child with `waitpid(..., WNOHANG)` and hands each exit to the ``ExitWaiter``
/// registered when that child was spawned. `SIGTERM`/`SIGINT`/`SIGQUIT`/`SIGHUP` go to the
/// `onSignal` handler (the supervisor shuts down and forwards them to every tool's process
/// group). Nothing else in the process may reap children (no `Foundation.Process`).
public final class Reaper: Sendable {
    /// Which children the reaper collects.
    public enum Mode: Sendable {
        /// PID 1 (or a subreaper): `waitpid(-1)`, every child including re-parented orphans.
        /// Installs process-wide handlers for `SIGCHLD`, `SIGTERM`, `SIGINT`, `SIGQUIT`,
        /// `SIGHUP` (a self-pipe the reaper thread polls) and ignores `SIGPIPE`.
        case allChildren
        /// Embedded use in a process that has other children it must not steal (tests):
        /// `waitpid(-pgid)` for each process group this reaper created, which still collects
        /// orphaned grandchildren that stayed in their tool's group. Polls instead of waiting
        /// for `SIGCHLD`.
        case ownGroups
    }

    private struct State {
        var waiters: [pid_t: ExitWaiter] = [:]
        /// Process groups of spawned tools; the value says whether the leader was reaped.
        var groups: [pid_t: Bool] = [:]
        var running = false
        var orphansReaped = 0
    }

    public let mode: Mode
    private let state = Mutex(State())
    private let signalHandler = Mutex<(@Sendable (Int32) -> Void)?>(nil)

    public init(mode: Mode) {
        self.mode = mode
    }

    /// Makes this process a child subreaper, so orphaned descendants are re-parented to it
    /// (what PID 1 gets for free).
    public static func becomeSubreaper() {
        _ = ps_set_child_subreaper()
    }

    /// Starts the reaper thread. `onSignal` runs on that thread for each termination signal.
    public func start(onSignal: (@Sendable (Int32) -> Void)? = nil) {
        signalHandler.withLock { $0 = onSignal }
        let alreadyRunning = state.withLock { state -> Bool in
            defer { state.running = true }
            return state.running
        }
        guard !alreadyRunning else { return }
        if mode == .allChildren { _ = ps_install_signal_handlers() }
        startDetachedThread { [self] in loop() }
    }

    /// Stops the reaper thread (after its current wait).
    public func stop() {
        state.withLock { $0.running = false }
    }

    /// Orphans (children nobody spawned through this reaper) collected so far.
    public var orphansReaped: Int { state.withLock { $0.orphansReaped } }

    /// Process groups of spawned children that are still tracked.
    public var trackedGroups: [pid_t] { state.withLock { Array($0.groups.keys) } }

    /// Sends `signal` to every tracked process group.
    public func signalAllGroups(_ signal: Int32) {
        for group in trackedGroups { kill(-group, signal) }
    }

    /// Runs `spawn` (which forks) while holding the reaper's lock and registers the child's
    /// waiter before the reaper can see its exit.
    func spawn(_ spawn: () -> (pid: pid_t, failedChild: pid_t, error: Int32)) -> Result<(pid_t, ExitWaiter), Errno> {
        state.withLock { state in
            let outcome = spawn()
            if outcome.failedChild > 0 {
                // The child could not exec; it exits by itself and is reaped as an orphan.
                state.groups[outcome.failedChild] = false
            }
            guard outcome.pid > 0 else { return .failure(Errno(outcome.error)) }
            let waiter = ExitWaiter()
            state.waiters[outcome.pid] = waiter
            state.groups[outcome.pid] = false
            return .success((outcome.pid, waiter))
        }
    }

    private func loop() {
        while state.withLock({ $0.running }) {
            switch mode {
            case .allChildren:
                let signal = ps_wait_signal(1000)
                if signal > 0 && signal != SIGCHLD && signal != SIGPIPE {
                    signalHandler.withLock { $0 }?(signal)
                }
                reapAll()
            case .ownGroups:
                let idle = state.withLock { $0.groups.isEmpty }
                usleep(idle ? 20_000 : 2_000)
                reapOwnGroups()
            }
        }
    }

    private func reapAll() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            deliver(pid, status: status)
        }
    }

    private func reapOwnGroups() {
        for group in trackedGroups {
            var status: Int32 = 0
            while true {
                let pid = waitpid(-group, &status, WNOHANG)
                if pid > 0 {
                    deliver(pid, status: status)
                    continue
                }
                if pid < 0 && errno == ECHILD {
                    state.withLock { state in
                        if state.groups[group] == true || state.waiters[group] == nil { state.groups[group] = nil }
                    }
                }
                break
            }
        }
    }

    private func deliver(_ pid: pid_t, status: Int32) {
        let waiter: ExitWaiter? = state.withLock { state in
            let waiter = state.waiters.removeValue(forKey: pid)
            if waiter == nil { state.orphansReaped += 1 }
            if state.groups[pid] != nil {
                switch mode {
                case .allChildren: state.groups[pid] = nil
                case .ownGroups: state.groups[pid] = true
                }
            }
            return waiter
        }
        waiter?.deliver(ps_decode_status(status))
    }
}
