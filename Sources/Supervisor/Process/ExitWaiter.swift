import Synchronization

/// One child's exit, delivered once by the ``Reaper`` to whoever spawned it. It exists before
/// the fork (subscribe before spawn), so an exit reaped right after `fork` is never lost.
public final class ExitWaiter: Sendable {
    private struct State {
        var status: Int32?
        var continuations: [CheckedContinuation<Int32, Never>] = []
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

    func deliver(_ status: Int32) {
        let waiting: [CheckedContinuation<Int32, Never>] = state.withLock { state in
            guard state.status == nil else { return [] }
            state.status = status
            defer { state.continuations.removeAll() }
            return state.continuations
        }
        for continuation in waiting { continuation.resume(returning: status) }
    }
}
