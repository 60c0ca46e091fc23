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

    @Test("a wake-up sent while nobody waits ends the next wait, and only that one")
    func wakeSignalKept() async {
        let wake = WakeSignal()
        wake.signal()
        let start = ContinuousClock.now
        await wake.wait(for: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(10), "the kept signal ended the wait")
        let second = ContinuousClock.now
        await wake.wait(for: .milliseconds(100))
        #expect(ContinuousClock.now - second >= .milliseconds(100), "the signal was used up: this one timed out")
    }
}
