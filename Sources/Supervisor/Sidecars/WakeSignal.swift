import Synchronization

/// Wakes a sleeping loop early: ``signal()`` ends the current ``wait(for:)``, or the next one
/// when nobody waits (a signal sent between two waits is not lost). One waiter at a time.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    init() {}

    /// Ends the current wait, or the next one.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal, after `timeout` (`nil`: no limit) or when the task is
    /// cancelled, whichever comes first.
    func wait(for timeout: Duration?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            if let timeout { group.addTask { try? await Task.sleep(for: timeout) } }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (now, replaced) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                    if state.pending {
                        state.pending = false
                        return (true, nil)
                    }
                    // A cancelled wait does not consume a pending signal: the next wait gets it.
                    if Task.isCancelled { return (true, nil) }
                    defer { state.waiter = continuation }
                    return (false, state.waiter)
                }
                // Never leave an earlier waiter hanging (there should be none).
                replaced?.resume()
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
