import Synchronization

/// A wake-up signal for a loop that otherwise sleeps: `signal()` ends the current (or next)
/// `wait(upTo:)` early. Signals do not accumulate beyond one.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Ends the current `wait(upTo:)`, or the next one when nobody waits.
    public func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal, after `timeout` (`nil`: no limit), or when the task is cancelled.
    public func wait(upTo timeout: Duration?) async {
        await withTaskGroup(of: Void.self) { group in
            if let timeout {
                group.addTask {
                    // Only a timer that ran out wakes the waiter; a cancelled one leaves no signal behind.
                    if (try? await Task.sleep(for: timeout)) != nil { self.signal() }
                }
            }
            group.addTask { await self.waitForSignal() }
            await group.next()
            // Whichever ended first (timer, signal, cancellation), the other must end too.
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: Bool = state.withLock { state in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    // A cancelled wait leaves a pending signal for the next one.
                    if Task.isCancelled { return true }
                    state.waiter?.resume()  // one waiter at a time; never leave one hanging
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }
}
