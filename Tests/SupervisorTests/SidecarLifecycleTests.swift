#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Supervisor

/// The sidecar lifecycle state machine alone: events in, actions out, no processes or clocks.
@Suite("Sidecar lifecycle: starts, readiness, crashes, backoff, stops, idleness, shutdown")
struct SidecarLifecycleTests {
    typealias Action = SidecarLifecycle.Action

    static let backoff = SidecarSpec.Backoff(initial: .milliseconds(100), maximum: .seconds(2), resetAfter: .seconds(1))

    static func spec(_ name: String, dependsOn: [String] = []) -> SidecarSpec {
        SidecarSpec(name: name, executable: "/bin/true", arguments: ["true"], dependsOn: dependsOn, backoff: backoff)
    }

    /// `ms` milliseconds after an arbitrary origin.
    static func at(_ ms: UInt64) -> SidecarLifecycle.Moment {
        SidecarLifecycle.Moment(monotonic: ms * 1_000_000, wall: Date(timeIntervalSince1970: 1_000_000 + Double(ms) / 1000))
    }

    /// Starts `name` (its dependencies must be ready) through spawn and readiness.
    static func bringUp(_ lifecycle: inout SidecarLifecycle, _ name: String, pid: pid_t, at ms: UInt64) throws {
        guard case .launch = lifecycle.startRequested(name) else {
            Issue.record("\(name) should launch")
            return
        }
        _ = try lifecycle.spawned(name, pid: pid, at: at(ms))
        _ = try lifecycle.becameReady(name, pid: pid, at: at(ms + 10))
        lifecycle.launchEnded(name)
    }

    static func restartTimes(_ actions: [Action]) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for case .scheduleRestart(let name, let at) in actions { out[name] = at }
        return out
    }

    static func stops(_ actions: [Action]) -> [String] {
        actions.compactMap { if case .stop(let name, _) = $0 { name } else { nil } }
    }

    @Test("a start brings up its dependencies first, each once, and a second request joins the launch")
    func startWithDependencies() {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("xvfb"), Self.spec("chromium", dependsOn: ["xvfb"]),
                                                 Self.spec("playwright", dependsOn: ["chromium", "xvfb"])])
        #expect(lifecycle.startOrder(for: "playwright") == ["xvfb", "chromium", "playwright"])
        guard case .launch = lifecycle.startRequested("xvfb") else { Issue.record("first request launches"); return }
        #expect(lifecycle.state("xvfb") == .starting && lifecycle.slot("xvfb")?.wanted == true)
        guard case .join = lifecycle.startRequested("xvfb") else { Issue.record("second request joins"); return }
        #expect(lifecycle.slot("chromium")?.wanted == false, "only what was asked for is wanted")
        guard case .refuse(let error) = lifecycle.startRequested("vnc") else { Issue.record("unknown sidecar refused"); return }
        #expect(error.code == "sidecar_unavailable" && error.status == 409)
    }

    @Test("a spawned sidecar counts as used from its start, and is ready with its readiness time")
    func ready() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base")])
        _ = lifecycle.startRequested("base")
        let spawned = try lifecycle.spawned("base", pid: 41, at: Self.at(1000))
        #expect(spawned.contains { if case .log(let log) = $0 { log.message == "sidecar starting" } else { false } })
        #expect(lifecycle.pid("base") == 41 && lifecycle.slot("base")?.lastUsed == 1_000_000_000)
        #expect(throws: SupervisorError.self) { try lifecycle.becameReady("base", pid: 99, at: Self.at(1100)) }
        _ = try lifecycle.becameReady("base", pid: 41, at: Self.at(1250))
        lifecycle.launchEnded("base")
        #expect(lifecycle.state("base") == .ready && lifecycle.slot("base")?.readyMs == 250)
        guard case .ready = lifecycle.startRequested("base") else { Issue.record("ready needs nothing"); return }
    }

    @Test("a crash while ready backs off by the policy, counts the restart, and its dependents go down and come back after it")
    func crashWhileReady() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base"), Self.spec("top", dependsOn: ["base"])])
        try Self.bringUp(&lifecycle, "base", pid: 10, at: 0)
        try Self.bringUp(&lifecycle, "top", pid: 20, at: 20)

        let crash = lifecycle.exited("base", pid: 10, status: -9, at: Self.at(500), logTail: "boom")
        #expect(crash.first == .signal(pid: 10, SIGKILL))
        #expect(Self.stops(crash) == ["top"] && crash.contains(.stop("top", keepWanted: true)))
        #expect(Self.restartTimes(crash) == ["base": 600_000_000], "initial delay 100 ms after the crash")
        let base = try #require(lifecycle.slot("base"))
        #expect(base.state == .backoff && base.restarts == 1 && base.crashesInRow == 1 && base.pid == nil)
        #expect(base.lastExit?.status == -9 && base.lastExit?.requested == false && base.detail?.contains("boom") == true)

        // The manager stops the dependent; the restart waits until it is down.
        #expect(lifecycle.stopRequested("top", keepWanted: true) == [.terminate("top", pid: 20)])
        #expect(lifecycle.backoffElapsed(at: 550_000_000).isEmpty, "not due yet")
        #expect(lifecycle.backoffElapsed(at: 700_000_000).isEmpty, "its dependent is still stopping")
        #expect(lifecycle.nextRestart == nil)
        _ = lifecycle.exited("top", pid: 20, status: -15, at: Self.at(650), logTail: "")
        #expect(lifecycle.slot("top")?.lastExit?.requested == true && lifecycle.slot("top")?.restarts == 0)
        #expect(lifecycle.slot("top")?.wanted == true, "kept wanted to come back with base")
        #expect(lifecycle.nextRestart == 600_000_000)
        #expect(lifecycle.backoffElapsed(at: 700_000_000) == [.restart("base")])
        #expect(lifecycle.backoffElapsed(at: 800_000_000).isEmpty, "begins once")
        #expect(lifecycle.restartStillPending("base"))

        try Self.bringUp(&lifecycle, "base", pid: 11, at: 700)
        #expect(lifecycle.restarted("base") == [.start("top")])
        #expect(lifecycle.slot("base")?.detail == nil)

        // A second crash soon after doubles the delay.
        let again = lifecycle.exited("base", pid: 11, status: 1, at: Self.at(900), logTail: "")
        #expect(Self.restartTimes(again) == ["base": 1_100_000_000])
        #expect(lifecycle.slot("base")?.crashesInRow == 2 && lifecycle.slot("base")?.restarts == 2)
    }

    @Test("the run of crashes starts again after resetAfter of uptime")
    func crashesInRowReset() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base")])
        try Self.bringUp(&lifecycle, "base", pid: 10, at: 0)
        _ = lifecycle.exited("base", pid: 10, status: 1, at: Self.at(100), logTail: "")
        _ = lifecycle.backoffElapsed(at: 200_000_000)
        try Self.bringUp(&lifecycle, "base", pid: 11, at: 200)
        _ = lifecycle.exited("base", pid: 11, status: 1, at: Self.at(300), logTail: "")
        #expect(lifecycle.slot("base")?.crashesInRow == 2)
        _ = lifecycle.backoffElapsed(at: 500_000_000)
        try Self.bringUp(&lifecycle, "base", pid: 12, at: 500)
        // Up for 1.2 s (>= resetAfter of 1 s): a first crash again.
        let crash = lifecycle.exited("base", pid: 12, status: 1, at: Self.at(1700), logTail: "")
        #expect(lifecycle.slot("base")?.crashesInRow == 1 && lifecycle.slot("base")?.restarts == 3)
        #expect(Self.restartTimes(crash) == ["base": 1_800_000_000])
    }

    @Test("a process that exits while starting fails the start and is not restarted")
    func crashWhileStarting() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("broken"), Self.spec("never")])
        _ = lifecycle.startRequested("broken")
        _ = try lifecycle.spawned("broken", pid: 30, at: Self.at(0))
        _ = lifecycle.failedToStart("broken", message: "exited with status 3")
        let exit = lifecycle.exited("broken", pid: 30, status: 3, at: Self.at(40), logTail: "")
        lifecycle.launchEnded("broken")
        #expect(Self.restartTimes(exit).isEmpty)
        let slot = try #require(lifecycle.slot("broken"))
        #expect(slot.state == .stopped && slot.restarts == 0 && slot.lastExit?.status == 3 && slot.lastExit?.requested == false)
        #expect(slot.detail == "exited with status 3")
        #expect(lifecycle.isQuiet && lifecycle.nextRestart == nil)
        // A failure before any process (prepare, spawn) stops it as well.
        _ = lifecycle.startRequested("never")
        _ = lifecycle.failedToStart("never", message: "no such file")
        #expect(lifecycle.state("never") == .stopped)
    }

    @Test("a requested stop is not a crash: no restart, the exit is marked requested")
    func requestedStop() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base")])
        try Self.bringUp(&lifecycle, "base", pid: 10, at: 0)
        #expect(lifecycle.stopRequested("base", keepWanted: false) == [.terminate("base", pid: 10)])
        #expect(lifecycle.state("base") == .stopping && lifecycle.slot("base")?.wanted == false)
        #expect(lifecycle.stopRequested("base", keepWanted: false).isEmpty, "already stopping")
        let exit = lifecycle.exited("base", pid: 10, status: -15, at: Self.at(100), logTail: "")
        #expect(exit == [.signal(pid: 10, SIGKILL)], "no restart, no warning")
        let slot = try #require(lifecycle.slot("base"))
        #expect(slot.state == .stopped && slot.restarts == 0 && slot.lastExit?.requested == true)
        #expect(lifecycle.exited("base", pid: 10, status: -15, at: Self.at(110), logTail: "").isEmpty, "a stale exit changes nothing")
    }

    @Test("a stop during backoff drops the pending restart")
    func stopDuringBackoff() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base")])
        try Self.bringUp(&lifecycle, "base", pid: 10, at: 0)
        _ = lifecycle.exited("base", pid: 10, status: 1, at: Self.at(100), logTail: "")
        #expect(lifecycle.state("base") == .backoff && lifecycle.nextRestart == 200_000_000)
        #expect(lifecycle.stopRequested("base", keepWanted: false).isEmpty)
        #expect(lifecycle.state("base") == .stopped && lifecycle.nextRestart == nil)
        #expect(lifecycle.backoffElapsed(at: 10_000_000_000).isEmpty)
        #expect(lifecycle.restartFailed("base", message: "x", at: 300_000_000).isEmpty, "no longer wanted: no retry")
    }

    @Test("a restart that fails is retried one backoff step later")
    func restartFailure() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base")])
        try Self.bringUp(&lifecycle, "base", pid: 10, at: 0)
        _ = lifecycle.exited("base", pid: 10, status: 1, at: Self.at(100), logTail: "")
        _ = lifecycle.backoffElapsed(at: 200_000_000)
        _ = lifecycle.startRequested("base")
        _ = lifecycle.failedToStart("base", message: "could not start")
        lifecycle.launchEnded("base")
        let retry = lifecycle.restartFailed("base", message: "could not start", at: 250_000_000)
        #expect(Self.restartTimes(retry) == ["base": 450_000_000], "second in a row: 200 ms")
        #expect(lifecycle.state("base") == .backoff && lifecycle.slot("base")?.restarts == 1)
        #expect(lifecycle.slot("base")?.detail == "could not start; retrying in 0.2 seconds")
    }

    @Test("the idle check stops unused sidecars, dependents first, but not pinned ones or ones a running dependent needs")
    func idleStop() throws {
        var lifecycle = SidecarLifecycle(
            specs: [Self.spec("display"), Self.spec("vnc", dependsOn: ["display"]), Self.spec("browser"),
                    Self.spec("lib"), Self.spec("app", dependsOn: ["lib"])],
            eager: ["vnc"])
        #expect(lifecycle.pinned == ["vnc", "display"])
        try Self.bringUp(&lifecycle, "display", pid: 1, at: 0)
        try Self.bringUp(&lifecycle, "vnc", pid: 2, at: 0)
        try Self.bringUp(&lifecycle, "browser", pid: 3, at: 0)
        try Self.bringUp(&lifecycle, "lib", pid: 4, at: 0)
        try Self.bringUp(&lifecycle, "app", pid: 5, at: 1500)
        #expect(lifecycle.idleTick(at: 500_000_000, timeout: .seconds(1)).isEmpty, "nothing idle yet")
        #expect(lifecycle.idleTick(at: 100_000_000, timeout: .seconds(1)).isEmpty, "a clock behind the last use is not idle time")
        // lib is idle, but app (used at 1.5 s) runs and needs it.
        #expect(Self.stops(lifecycle.idleTick(at: 2_000_000_000, timeout: .seconds(1))) == ["browser"])
        // Once app is idle too, both go, the dependent first.
        let later = lifecycle.idleTick(at: 3_000_000_000, timeout: .seconds(1))
        #expect(Self.stops(later) == ["app", "lib", "browser"])
        #expect(later.contains(.stop("app", keepWanted: false)))
    }

    @Test("a sidecar held by a caller waiting for it or for its dependent is not stopped for idleness")
    func heldIsNotIdle() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base"), Self.spec("slow", dependsOn: ["base"])])
        lifecycle.held(["slow"])
        try Self.bringUp(&lifecycle, "base", pid: 1, at: 0)
        // slow's start has not even been requested yet (its caller is between the two starts).
        #expect(lifecycle.idleTick(at: 5_000_000_000, timeout: .seconds(1)).isEmpty, "base is held for slow's caller")
        lifecycle.released(["slow"])
        #expect(Self.stops(lifecycle.idleTick(at: 5_000_000_000, timeout: .seconds(1))) == ["base"])
    }

    @Test("shutdown stops everything dependents first, refuses later starts and restarts nothing")
    func shutdown() throws {
        var lifecycle = SidecarLifecycle(specs: [Self.spec("base"), Self.spec("top", dependsOn: ["base"])])
        try Self.bringUp(&lifecycle, "base", pid: 10, at: 0)
        #expect(lifecycle.shutdown() == [.stop("top", keepWanted: false), .stop("base", keepWanted: false)])
        guard case .refuse(let error) = lifecycle.startRequested("top") else { Issue.record("start after shutdown refused"); return }
        #expect(error.code == "shutting_down" && error.status == 503)
        let exit = lifecycle.exited("base", pid: 10, status: -9, at: Self.at(100), logTail: "")
        #expect(Self.restartTimes(exit).isEmpty && lifecycle.state("base") == .stopped && lifecycle.slot("base")?.restarts == 0)
        #expect(lifecycle.backoffElapsed(at: 10_000_000_000).isEmpty)
    }
}
