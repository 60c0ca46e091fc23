import Foundation
import Testing

/// Runs a test on threads of its own instead of Swift's cooperative pool.
///
/// The cooperative pool has one thread per core: two on the machines we test on. A test whose
/// body holds its thread for long without suspending (tokenizing a megabyte, loading a
/// vocabulary, waiting for a child process to exit) takes one of them for all that time, and
/// two such tests stop every other test in the process: the suites that start, time out and
/// kill real processes saw their timers fire 10-15 s late. Tests marked `.blocking` run their
/// jobs on `BlockingTestExecutor.shared` and leave the pool to the others.
public struct BlockingTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(BlockingTestExecutor.shared) { try await function() }
    }
}

extension Trait where Self == BlockingTrait {
    /// The test blocks its thread for long: run it off the cooperative pool (see `BlockingTrait`).
    public static var blocking: Self { Self() }
}

/// A task executor with a few threads of its own that take jobs from one queue, in order.
public final class BlockingTestExecutor: TaskExecutor, @unchecked Sendable {
    /// The executor `.blocking` tests share. Two threads: one test that blocks leaves the
    /// other tests' jobs a thread.
    public static let shared = BlockingTestExecutor(threads: 2, name: "blocking-tests")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []  // guarded by `condition`
    private var threads: Set<pthread_t> = []  // guarded by `condition`

    public init(threads: Int, name: String) {
        for _ in 0..<threads {
            Thread { [unowned self] in
                // The kernel's name, for debuggers and /proc (Foundation's `Thread.name` does not
                // always reach it on Linux).
                _ = try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
                self.condition.lock()
                self.threads.insert(pthread_self())
                self.condition.unlock()
                self.run()
            }.start()
        }
    }

    /// Whether the caller runs on one of this executor's threads.
    public var isCurrentThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        return threads.contains(pthread_self())
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
