import Synchronization

/// One child's exit, delivered once by the ``Reaper`` to whoever spawned it. It exists before
/// the fork (subscribe before spawn), so an exit reaped right after `fork` is never lost.
public final class ExitWaiter: Sendable {
    private struct State {
        var status: Int32?
        var continuations: [CheckedContinuation<Int32, Never>] = []
        /// Waiters that give up when their task is cancelled, by token.
        var cancellable: [UInt64: CheckedContinuation<Int32?, Never>] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    /// The decoded exit status (exit code, or minus the signal number) once reaped.
    public var status: Int32? { state.withLock { $0.status } }

    /// Waits for the exit and returns its decoded status.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let ready: Int32? = state.withLock { state in
                if let status = state.status { return status }
                state.continuations.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits for the exit like ``wait()``, but returns `nil` as soon as the calling task is
    /// cancelled (a loop that watches processes must be able to end before they do).
    public func waitUnlessCancelled() async -> Int32? {
        let token = state.withLock { state -> UInt64 in
            defer { state.nextToken += 1 }
            return state.nextToken
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                // `.some(nil)`: cancelled before it could register.
                let ready: Int32?? = state.withLock { state in
                    if let status = state.status { return .some(status) }
                    if Task.isCancelled { return .some(nil) }
                    state.cancellable[token] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let continuation = state.withLock { $0.cancellable.removeValue(forKey: token) }
            continuation?.resume(returning: nil)
        }
    }

    func deliver(_ status: Int32) {
        let (waiting, cancellable): ([CheckedContinuation<Int32, Never>], [CheckedContinuation<Int32?, Never>]) = state.withLock { state in
            guard state.status == nil else { return ([], []) }
            state.status = status
            defer {
                state.continuations.removeAll()
                state.cancellable.removeAll()
            }
            return (state.continuations, Array(state.cancellable.values))
        }
        for continuation in waiting { continuation.resume(returning: status) }
        for continuation in cancellable { continuation.resume(returning: status) }
    }
}
