import Foundation
import Testing
import TestTraits

/// The `.blocking` trait keeps the suites that block their threads off Swift's cooperative pool.
@Suite("The .blocking test trait")
struct BlockingTraitTests {
    /// The kernel's name of the thread running the caller.
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a .blocking test runs on the executor's threads, before and after it suspends", .blocking)
    func executorThreads() async throws {
        #expect(BlockingTestExecutor.shared.isCurrentThread)
        #expect(Self.threadName() == "blocking-tests")
        try await Task.sleep(for: .milliseconds(5))
        #expect(BlockingTestExecutor.shared.isCurrentThread)
        #expect(Self.threadName() == "blocking-tests")
    }

    @Test("an unmarked test runs on the cooperative pool")
    func cooperativePool() async {
        #expect(!BlockingTestExecutor.shared.isCurrentThread)
        #expect(Self.threadName() != "blocking-tests")
    }
}
