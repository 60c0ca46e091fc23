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
                try? await Task.sleep(for: timeout)
                self.signal()
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let ready: Bool = self.state.withLock { state in
                        if state.pending {
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
            group.cancelAll()
            await group.waitForAll()
        }
        // The timer may have left a signal behind after the waiter returned; drop it.
        state.withLock { $0.pending = false }
    }
}
