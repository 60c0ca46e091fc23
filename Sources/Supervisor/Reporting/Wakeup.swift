import Synchronization

/// A wake-up signal for a loop that otherwise sleeps: `signal()` ends the current (or next)
/// `wait(upTo:)` early. Signals do not accumulate beyond one.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
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

    /// Returns on a signal, after `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Only a timer that ran out wakes the waiter; a cancelled one leaves no signal behind.
                if (try? await Task.sleep(for: timeout)) != nil { self.signal() }
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready: Bool = self.state.withLock { state in
                        if state.pending || Task.isCancelled {
                            state.pending = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            }
            await group.next()
            // Whichever ended first (timer, signal, cancellation), the other must end too.
            let waiter = self.state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
            group.cancelAll()
            await group.waitForAll()
        }
    }
}
