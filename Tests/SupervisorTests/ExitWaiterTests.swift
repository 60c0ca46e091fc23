import Testing
@testable import Supervisor

@Suite("Waiting for an exit or a wake-up")
struct ExitWaiterTests {
    @Test("a cancellable exit wait returns nil when cancelled and the status when the exit comes")
    func cancellableWait() async {
        let waiter = ExitWaiter()
        let cancelled = Task { await waiter.waitUnlessCancelled() }
        cancelled.cancel()
        #expect(await cancelled.value == nil)
        let waiting = Task { await waiter.waitUnlessCancelled() }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.deliver(3)
        #expect(await waiting.value == 3)
        #expect(await waiter.waitUnlessCancelled() == 3, "after the exit it answers at once")
    }
}
