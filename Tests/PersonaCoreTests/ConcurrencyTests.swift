@testable import PersonaCore
import Testing

@Suite("Wake-up and gate")
struct ConcurrencyTests {
    @Test("a signal given before the wait ends it at once, and signals do not pile up")
    func signalBeforeWait() async {
        let wakeup = Wakeup()
        wakeup.signal()
        wakeup.signal()
        let clock = ContinuousClock()
        // "At once" against a two-minute timeout: under a full run's load the task itself can wait
        // seconds for a thread (12 s was seen against a 10 s bound).
        let first = await clock.measure { await wakeup.wait(upTo: .seconds(120)) }
        #expect(first < .seconds(60))
        let second = await clock.measure { await wakeup.wait(upTo: .milliseconds(200)) }
        #expect(second >= .milliseconds(200))
    }

    @Test("a waiting loop is woken by a signal from another task")
    func signalWakesWaiter() async {
        let wakeup = Wakeup()
        let clock = ContinuousClock()
        async let waited = clock.measure { await wakeup.wait(upTo: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        wakeup.signal()
        #expect(await waited < .seconds(30))
    }

    @Test("a gate holds waiters until it opens, then lets everyone through")
    func gate() async {
        let gate = Gate()
        #expect(!gate.isOpen)
        let passed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 { group.addTask { await gate.wait(); return gate.isOpen } }
            try? await Task.sleep(for: .milliseconds(50))
            gate.open()
            var all: [Bool] = []
            for await value in group { all.append(value) }
            return all
        }
        #expect(passed == [true, true, true, true, true])
        await gate.wait()  // open: returns at once
    }

    @Test("a cancelled waiter leaves a closed gate")
    func cancelledWaiter() async {
        let gate = Gate()
        let waiter = Task { await gate.wait(); return gate.isOpen }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        #expect(await waiter.value == false)
    }
}
