import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
    /// Wakes a thread blocked in ``waitBlocking(nanoseconds:)``.
    private let wake = ThreadWake()

    init() {}

    /// Blocks the calling thread (never a Swift concurrency thread) until the exit is reaped
    /// or `nanoseconds` pass; returns the status if it was reaped.
    @discardableResult
    func waitBlocking(nanoseconds: UInt64) -> Int32? {
        if let status { return status }
        wake.wait(nanoseconds: nanoseconds) { self.status != nil }
        return status
    }

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
        wake.signal()
        for continuation in waiting { continuation.resume(returning: status) }
        for continuation in cancellable { continuation.resume(returning: status) }
    }
}

/// A POSIX condition variable for one blocked thread to be woken by another.
private final class ThreadWake: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Waits until `done()` holds (checked under the lock, so a signal between the check and the
    /// wait is not lost) or `nanoseconds` pass.
    func wait(nanoseconds: UInt64, until done: () -> Bool) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = UInt64(now.tv_nsec) + nanoseconds
        var deadline = timespec(tv_sec: now.tv_sec + Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
        pthread_mutex_lock(mutex)
        while !done() {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        pthread_mutex_unlock(mutex)
    }

    func signal() {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
