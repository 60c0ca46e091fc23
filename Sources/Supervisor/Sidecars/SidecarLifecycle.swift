#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// Every sidecar's lifecycle as a value: its state, process, restarts, last exit and use,
/// changed only by events (a start was asked for, the process spawned, became ready, failed to
/// start or exited, a stop was asked for, an idle tick, a backoff elapsed, shutdown), each of
/// which returns the ``Action``s for the ``SidecarManager`` to carry out.
///
/// Pure: it reads no clock (every event says when it happened), makes no system call and
/// logs nothing itself (it returns ``Action/log(_:)``).
struct SidecarLifecycle: Sendable {
    typealias State = SidecarManager.State

    /// When an event happened: monotonic nanoseconds for durations, wall time for reports.
    struct Moment: Sendable, Equatable {
        var monotonic: UInt64
        var wall: Date
    }

    /// One sidecar.
    struct Slot: Sendable {
        var spec: SidecarSpec
        var state: State = .stopped
        /// The running process (leader of its own process group).
        var pid: pid_t?
        /// A launch (prepare, spawn, readiness check) is under way; later starts join it.
        var launching = false
        /// Restarts after a crash.
        var restarts = 0
        var crashesInRow = 0
        var lastExit: SidecarHealth.Exit?
        var startedAt: Date?
        var startedMonotonic: UInt64 = 0
        var lastUsed: UInt64 = 0
        var lastUsedAt: Date?
        var readyMs: Int?
        /// Should be running: used (or eager) and not stopped for idleness.
        var wanted = false
        /// Callers waiting for it (or for a dependent of it) to be ready: never idle meanwhile.
        var holds = 0
        /// In ``State/backoff``: when the restart is due (monotonic); `nil` once it began.
        var restartAt: UInt64?
        var detail: String?
    }

    /// A line for the manager's log.
    struct Log: Sendable, Equatable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    /// What the manager does next, in the order returned.
    enum Action: Sendable, Equatable {
        /// Send `signal` to the process group `pid` leads.
        case signal(pid: pid_t, Int32)
        /// `SIGTERM` to the process group of `name`'s process `pid`, `SIGKILL` after the grace,
        /// then report its exit with ``SidecarLifecycle/exited(_:pid:status:at:logTail:)``.
        case terminate(String, pid: pid_t)
        /// Stop `name`: its dependents first, then ``SidecarLifecycle/stopRequested(_:keepWanted:)``.
        case stop(String, keepWanted: Bool)
        /// Wake the loop: a restart of `name` is due at monotonic time `at`.
        case scheduleRestart(String, at: UInt64)
        /// Start `name` (dependencies first) after a crash, then report
        /// ``SidecarLifecycle/restarted(_:)`` or ``SidecarLifecycle/restartFailed(_:message:at:)``.
        case restart(String)
        /// Start `name` again (a dependency it needs came back); a failure is only logged.
        case start(String)
        case log(Log)
    }

    /// How to go on with a start of one sidecar (its dependencies are ready).
    enum StartDecision {
        /// Ready already.
        case ready
        /// A launch is under way: wait for it.
        case join
        /// Spawn it (after `prepare`), report ``SidecarLifecycle/spawned(_:pid:at:)``, probe
        /// its readiness and report ``SidecarLifecycle/becameReady(_:pid:at:)`` or
        /// ``SidecarLifecycle/failedToStart(_:message:)``, then ``SidecarLifecycle/launchEnded(_:)``.
        case launch
        case refuse(SupervisorError)
    }

    // Set only by the events here and in SidecarLifecycle+Exits.swift (an extension in
    // another file cannot reach a `private(set)` setter).
    var slots: [String: Slot] = [:]
    /// Declaration order (dependencies before dependents).
    let order: [String]
    /// Started at boot and kept running, with their dependencies.
    let eager: [String]
    /// The eager ones and everything they depend on: never stopped for idleness.
    let pinned: Set<String>
    /// After ``shutdown()``: starts are refused and nothing is restarted.
    var closed = false

    init(specs: [SidecarSpec], eager: [String] = []) {
        for spec in specs { slots[spec.name] = Slot(spec: spec) }
        order = specs.map(\.name)
        self.eager = eager.filter { name in specs.contains { $0.name == name } }
        var pinned: Set<String> = []
        var stack = self.eager
        while let name = stack.popLast() {
            guard pinned.insert(name).inserted else { continue }
            stack.append(contentsOf: specs.first { $0.name == name }?.dependsOn ?? [])
        }
        self.pinned = pinned
    }

    // MARK: Queries

    func slot(_ name: String) -> Slot? { slots[name] }

    func state(_ name: String) -> State? { slots[name]?.state }

    func pid(_ name: String) -> pid_t? { slots[name]?.pid }

    /// Processes that run (starting, ready or stopping), in declaration order.
    var processes: [(name: String, pid: pid_t)] {
        order.compactMap { name in slots[name]?.pid.map { (name, $0) } }
    }

    /// Nothing to watch or restart: no process, no launch, no pending restart.
    var isQuiet: Bool {
        !slots.values.contains { $0.pid != nil || $0.launching || $0.state == .backoff }
    }

    /// The earliest restart that may begin once its time comes (monotonic).
    var nextRestart: UInt64? {
        guard !closed else { return nil }
        return order.compactMap { name in
            guard let slot = slots[name], slot.state == .backoff, let at = slot.restartAt, dependentsDown(name) else { return nil }
            return at
        }.min()
    }

    /// What starting `name` means, in order: its dependencies (recursively, each once), then it.
    func startOrder(for name: String) -> [String] {
        var out: [String] = []
        var visiting: Set<String> = []
        func visit(_ name: String) {
            guard visiting.insert(name).inserted else { return }
            for dependency in slots[name]?.spec.dependsOn ?? [] { visit(dependency) }
            out.append(name)
        }
        visit(name)
        return out
    }

    /// Sidecars that depend on `name` directly or through others, dependents first.
    func dependents(of name: String) -> [String] {
        var out: [String] = []
        collectDependents(of: name, into: &out, visiting: [name])
        return out
    }

    private func collectDependents(of name: String, into out: inout [String], visiting: Set<String>) {
        for other in order.reversed() where !visiting.contains(other) && slots[other]?.spec.dependsOn.contains(name) == true {
            collectDependents(of: other, into: &out, visiting: visiting.union([other]))
            if !out.contains(other) { out.append(other) }
        }
    }

    /// Whether every dependent of `name` is stopped (a restart waits for the ones going down).
    func dependentsDown(_ name: String) -> Bool {
        dependents(of: name).allSatisfy { slots[$0]?.state == .stopped }
    }

    /// Throws unless `name` is still starting with `pid` (it was stopped or replaced meanwhile).
    func checkStillStarting(_ name: String, pid: pid_t) throws(SupervisorError) {
        guard let slot = slots[name], slot.pid == pid, slot.state == .starting else { throw stoppedWhileStarting(name) }
    }

    private func stoppedWhileStarting(_ name: String) -> SupervisorError {
        SupervisorError("sidecar_failed", "\(name) was stopped while starting\(slots[name]?.detail.map { ": \($0)" } ?? "")",
                        status: 503)
    }

    // MARK: Starting

    /// A start of `name` was asked for (its dependencies are ready): marks it wanted.
    mutating func startRequested(_ name: String) -> StartDecision {
        guard !closed else { return .refuse(SupervisorError("shutting_down", "the supervisor is shutting down", status: 503)) }
        guard var slot = slots[name] else {
            return .refuse(SupervisorError("sidecar_unavailable", "this persona's image has no \(name) sidecar", status: 409))
        }
        defer { slots[name] = slot }
        slot.wanted = true
        if slot.state == .ready { return .ready }
        if slot.launching { return .join }
        slot.launching = true
        slot.state = .starting
        slot.detail = nil
        slot.restartAt = nil
        return .launch
    }

    /// The launch of `name` spawned `pid`. It counts as used from now: a dependency must not
    /// look idle while its dependent starts.
    /// - Throws: `sidecar_failed` when it was stopped meanwhile (the caller kills `pid`).
    mutating func spawned(_ name: String, pid: pid_t, at now: Moment) throws(SupervisorError) -> [Action] {
        guard var slot = slots[name], slot.state == .starting, slot.pid == nil else { throw stoppedWhileStarting(name) }
        slot.pid = pid
        slot.lastUsed = now.monotonic
        slot.lastUsedAt = now.wall
        slot.startedAt = now.wall
        slot.startedMonotonic = now.monotonic
        slots[name] = slot
        return [.log(Log(level: .info, message: "sidecar starting", metadata: ["sidecar": name, "pid": "\(pid)"]))]
    }

    /// `name`'s process `pid` passed its readiness check.
    /// - Throws: `sidecar_failed` when it was stopped or replaced meanwhile.
    mutating func becameReady(_ name: String, pid: pid_t, at now: Moment) throws(SupervisorError) -> [Action] {
        try checkStillStarting(name, pid: pid)
        guard var slot = slots[name] else { return [] }
        let readyMs = Int(now.monotonic.subtractingSaturated(slot.startedMonotonic) / 1_000_000)
        slot.state = .ready
        slot.readyMs = readyMs
        slots[name] = slot
        return [.log(Log(level: .info, message: "sidecar ready", metadata: ["sidecar": name, "pid": "\(pid)", "readyMs": "\(readyMs)"]))]
    }

    /// The launch of `name` failed (`prepare` threw, the spawn failed, the process exited or was
    /// not ready in time). One that never spawned is stopped; a process's exit comes separately.
    mutating func failedToStart(_ name: String, message: String) -> [Action] {
        guard var slot = slots[name] else { return [] }
        slot.detail = message
        if slot.state == .starting && slot.pid == nil { slot.state = .stopped }
        slots[name] = slot
        return [.log(Log(level: .error, message: "sidecar failed to start", metadata: ["sidecar": name, "error": message]))]
    }

    /// The launch of `name` is over, whatever its outcome.
    mutating func launchEnded(_ name: String) {
        slots[name]?.launching = false
    }

    /// `names` and their dependencies were used now.
    /// A caller starts waiting for `names`: they and their dependencies are held (not idle)
    /// until ``released(_:)``, however long the start takes.
    mutating func held(_ names: [String]) {
        for name in closure(of: names) { slots[name]?.holds += 1 }
    }

    /// The wait that ``held(_:)`` began ended (ready or failed).
    mutating func released(_ names: [String]) {
        for name in closure(of: names) { slots[name].map { slots[name]?.holds = max(0, $0.holds - 1) } }
    }

    /// `names` and everything they depend on, each once.
    private func closure(of names: [String]) -> Set<String> {
        var stack = names
        var seen: Set<String> = []
        while let name = stack.popLast() {
            guard let slot = slots[name], seen.insert(name).inserted else { continue }
            stack.append(contentsOf: slot.spec.dependsOn)
        }
        return seen
    }

    mutating func touched(_ names: [String], at now: Moment) {
        var stack = names
        var seen: Set<String> = []
        while let name = stack.popLast() {
            guard seen.insert(name).inserted, var slot = slots[name] else { continue }
            slot.lastUsed = now.monotonic
            slot.lastUsedAt = now.wall
            slots[name] = slot
            stack.append(contentsOf: slot.spec.dependsOn)
        }
    }
}

extension UInt64 {
    /// `self - other`, or 0 when `other` is larger.
    func subtractingSaturated(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
