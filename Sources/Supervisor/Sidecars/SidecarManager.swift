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

/// Owns the sidecars: starts one (dependencies first) when a tool first needs it or at boot
/// when it is eager, checks readiness, restarts a crashed one with backoff (its dependents go
/// down and come back with it), stops the ones unused for ``idleTimeout`` and reports each
/// one's state, pid, restarts, last exit and memory.
public actor SidecarManager {
    public enum State: String, Sendable {
        case stopped, starting, ready, backoff, stopping
    }

    struct Slot {
        var spec: SidecarSpec
        var state: State = .stopped
        var pid: pid_t?
        var waiter: ExitWaiter?
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
        var starting: Task<Void, any Error>?
        var detail: String?
    }

    private var slots: [String: Slot] = [:]
    /// Declaration order (dependencies before dependents).
    private let order: [String]
    private let processes: ProcessRunner
    private let logDirectory: String
    /// `nil`: never stop for idleness.
    public nonisolated let idleTimeout: Duration?
    /// Started at boot and kept running, with their dependencies.
    private let eager: [String]
    private let pinned: Set<String>
    private let logger: Logger
    private var closed = false

    /// - Parameters:
    ///   - logDirectory: each sidecar's stdout and stderr go to `<name>.log` there (root-only).
    public init(specs: [SidecarSpec], processes: ProcessRunner, logDirectory: String, idleTimeout: Duration?,
                eager: [String] = [], logger: Logger) {
        for spec in specs { slots[spec.name] = Slot(spec: spec) }
        order = specs.map(\.name)
        self.processes = processes
        self.logDirectory = logDirectory
        self.idleTimeout = idleTimeout
        self.eager = eager.filter { name in specs.contains { $0.name == name } }
        var pinned: Set<String> = []
        var stack = self.eager
        while let name = stack.popLast() {
            guard pinned.insert(name).inserted else { continue }
            stack.append(contentsOf: specs.first { $0.name == name }?.dependsOn ?? [])
        }
        self.pinned = pinned
        self.logger = logger
    }

    public nonisolated var names: [String] { order }

    /// Starts `names` (and what they depend on) unless they are ready, waits until they are,
    /// and marks them used.
    /// - Throws: `sidecar_unavailable` (not installed), `sidecar_failed` (exited or never
    ///   became ready, with the end of its log), `shutting_down`.
    public func ensureReady(_ names: [String]) async throws(SupervisorError) {
        await noticeExits()
        for name in names { try await start(name) }
        touch(names)
    }

    /// Handles exits the reaper has delivered but whose handler has not run yet, so a sidecar
    /// killed a moment ago is not taken for ready.
    public func noticeExits() async {
        for name in order {
            guard let slot = slots[name], let pid = slot.pid, let status = slot.waiter?.status else { continue }
            await exited(name, pid: pid, status: status)
        }
    }

    /// Marks `names` and their dependencies used now (a long tool call ends).
    public func touch(_ names: [String]) {
        let now = monotonicNanos()
        var stack = names
        var seen: Set<String> = []
        while let name = stack.popLast() {
            guard seen.insert(name).inserted, slots[name] != nil else { continue }
            slots[name]!.lastUsed = now
            slots[name]!.lastUsedAt = Date()
            stack.append(contentsOf: slots[name]!.spec.dependsOn)
        }
    }

    public func state(_ name: String) -> State? { slots[name]?.state }

    /// Pid of a running sidecar.
    public func pid(_ name: String) -> pid_t? { slots[name]?.pid }

    private func start(_ name: String) async throws(SupervisorError) {
        guard !closed else { throw SupervisorError("shutting_down", "the supervisor is shutting down", status: 503) }
        guard let slot = slots[name] else {
            throw SupervisorError("sidecar_unavailable", "this persona's image has no \(name) sidecar", status: 409)
        }
        for dependency in slot.spec.dependsOn { try await start(dependency) }
        slots[name]!.wanted = true
        if slots[name]!.state == .ready { return }
        let task: Task<Void, any Error>
        if let running = slots[name]!.starting {
            task = running
        } else {
            task = Task { try await self.launch(name) }
            slots[name]!.starting = task
        }
        do {
            try await task.value
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError("sidecar_failed", "\(name) could not start", status: 503, underlying: error)
        }
    }

    /// Spawns `name` and waits for its readiness check.
    private func launch(_ name: String) async throws(SupervisorError) {
        defer { slots[name]?.starting = nil }
        let spec = slots[name]!.spec
        slots[name]!.state = .starting
        slots[name]!.detail = nil
        do {
            try await spec.prepare?()
        } catch {
            fail(name, error.message)
            throw SupervisorError(error.code, "\(name): \(error.message)", status: 503)
        }
        let logPath = "\(logDirectory)/\(name).log"
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if logFD >= 0 {
            var info = stat()
            if fstat(logFD, &info) == 0 && info.st_size > 1 << 20 { _ = ftruncate(logFD, 0) }
            let marker = Array("--- \(name) starting at \(Date()) ---\n".utf8)
            _ = marker.withUnsafeBytes { write(logFD, $0.baseAddress, $0.count) }
        }
        let spawned = processes.spawn(executable: spec.executable, arguments: spec.arguments, environment: spec.environment,
                                      workingDirectory: spec.workingDirectory, user: spec.user, limits: spec.limits,
                                      stdin: -1, stdout: logFD, stderr: logFD)
        if logFD >= 0 { close(logFD) }
        let pid: pid_t
        let waiter: ExitWaiter
        switch spawned {
        case .success(let value):
            (pid, waiter) = value
        case .failure(let errno):
            fail(name, "could not start \(spec.executable): \(errno)")
            throw SupervisorError("sidecar_failed", "\(name): could not start \(spec.executable) (\(errno))", status: 503)
        }
        let started = monotonicNanos()
        // Counts as used from its start: a dependency must not look idle while its dependent starts.
        slots[name]!.lastUsed = started
        slots[name]!.lastUsedAt = Date()
        slots[name]!.pid = pid
        slots[name]!.waiter = waiter
        slots[name]!.startedAt = Date()
        slots[name]!.startedMonotonic = started
        Task { await self.exited(name, pid: pid, status: await waiter.wait()) }
        logger.info("sidecar starting", metadata: ["sidecar": "\(name)", "pid": "\(pid)"])

        let deadline = started + spec.readyTimeout.nanoseconds
        while true {
            if let status = waiter.status {
                let reason = slots[name]?.detail.map { " (\($0))" } ?? ""
                let message = "\(name) exited with status \(status) before it was ready\(reason); its log ends: \(logTail(logPath))"
                fail(name, message)
                throw SupervisorError("sidecar_failed", message, status: 503)
            }
            try checkStillStarting(name, pid: pid)
            if await Self.probe(spec.readiness) { break }
            if monotonicNanos() > deadline {
                kill(-pid, SIGKILL)
                let message = "\(name) was not ready within \(spec.readyTimeout); its log ends: \(logTail(logPath))"
                fail(name, message)
                throw SupervisorError("sidecar_failed", message, status: 503)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        try checkStillStarting(name, pid: pid)
        let readyMs = Int((monotonicNanos() - started) / 1_000_000)
        slots[name]!.state = .ready
        slots[name]!.readyMs = readyMs
        logger.info("sidecar ready", metadata: ["sidecar": "\(name)", "pid": "\(pid)", "readyMs": "\(readyMs)"])
    }

    /// Throws when `name` was stopped (or replaced) while `pid` was starting, with the reason.
    private func checkStillStarting(_ name: String, pid: pid_t) throws(SupervisorError) {
        guard slots[name]?.pid != pid || slots[name]?.state != .starting else { return }
        throw SupervisorError("sidecar_failed", "\(name) was stopped while starting\(slots[name]?.detail.map { ": \($0)" } ?? "")",
                              status: 503)
    }

    private func fail(_ name: String, _ message: String) {
        slots[name]?.detail = message
        if slots[name]?.state == .starting && slots[name]?.pid == nil { slots[name]?.state = .stopped }
        logger.error("sidecar failed to start", metadata: ["sidecar": "\(name)", "error": "\(message)"])
    }

    /// The reaper delivered `pid`'s exit.
    private func exited(_ name: String, pid: pid_t, status: Int32) async {
        guard var slot = slots[name], slot.pid == pid else { return }
        kill(-pid, SIGKILL)
        let requested = slot.state == .stopping
        let crashed = slot.state == .ready
        slot.lastExit = SidecarHealth.Exit(status: Int(status), at: Date(), requested: requested)
        slot.pid = nil
        slot.waiter = nil
        guard crashed, slot.wanted, !closed else {
            slot.state = .stopped
            slots[name] = slot
            if !requested { logger.warning("sidecar exited", metadata: ["sidecar": "\(name)", "status": "\(status)"]) }
            return
        }
        let upFor = Duration.nanoseconds(Int64(monotonicNanos() - slot.startedMonotonic))
        slot.crashesInRow = upFor >= slot.spec.backoff.resetAfter ? 1 : slot.crashesInRow + 1
        slot.restarts += 1
        let delay = slot.spec.backoff.delay(afterCrashes: slot.crashesInRow)
        slot.state = .backoff
        slot.detail = "exited with status \(status); restarting in \(delay); its log ends: \(logTail("\(logDirectory)/\(name).log"))"
        slots[name] = slot
        logger.warning("sidecar crashed; restarting", metadata: [
            "sidecar": "\(name)", "status": "\(status)", "restarts": "\(slot.restarts)", "delay": "\(delay)",
        ])
        for dependent in dependents(of: name) {
            slots[dependent]?.detail = "stopped because \(name) exited with status \(status)"
            await stop(dependent, keepWanted: true)
        }
        Task {
            try? await Task.sleep(for: delay)
            await self.restartAfterCrash(name)
        }
    }

    private func restartAfterCrash(_ name: String) async {
        guard !closed, slots[name]?.state == .backoff else { return }
        do {
            try await start(name)
            slots[name]?.detail = nil
            for dependent in dependents(of: name) where slots[dependent]?.wanted == true && slots[dependent]?.state == .stopped {
                try? await start(dependent)
            }
        } catch {
            guard !closed, var slot = slots[name], slot.state == .stopped, slot.wanted else { return }
            slot.crashesInRow += 1
            let delay = slot.spec.backoff.delay(afterCrashes: slot.crashesInRow)
            slot.state = .backoff
            slot.detail = "\(error.message); retrying in \(delay)"
            slots[name] = slot
            Task {
                try? await Task.sleep(for: delay)
                await self.restartAfterCrash(name)
            }
        }
    }

    /// Sidecars that depend on `name` directly or through others, dependents first.
    private func dependents(of name: String) -> [String] {
        var out: [String] = []
        for other in order.reversed() where slots[other]!.spec.dependsOn.contains(name) {
            for nested in dependents(of: other) where !out.contains(nested) { out.append(nested) }
            if !out.contains(other) { out.append(other) }
        }
        return out
    }

    /// Stops `name` and its dependents: `SIGTERM` to the process group, `SIGKILL` after
    /// `grace`. `keepWanted` (a dependency went away) means it is started again with it.
    public func stop(_ name: String, keepWanted: Bool = false, grace: Duration = .seconds(3)) async {
        for dependent in dependents(of: name) { await stop(dependent, keepWanted: keepWanted, grace: grace) }
        guard slots[name] != nil else { return }
        if !keepWanted { slots[name]!.wanted = false }
        switch slots[name]!.state {
        case .stopped, .stopping:
            return
        case .backoff:
            slots[name]!.state = .stopped
            return
        case .starting, .ready:
            break
        }
        guard let pid = slots[name]!.pid, let waiter = slots[name]!.waiter else {
            slots[name]!.state = .stopped
            return
        }
        slots[name]!.state = .stopping
        kill(-pid, SIGTERM)
        let deadline = monotonicNanos() + grace.nanoseconds
        while waiter.status == nil && monotonicNanos() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if waiter.status == nil { kill(-pid, SIGKILL) }
        await exited(name, pid: pid, status: await waiter.wait())
        logger.info("sidecar stopped", metadata: ["sidecar": "\(name)", "keepWanted": "\(keepWanted)"])
    }

    /// Starts the eager sidecars, then stops idle ones until cancelled.
    public func run() async {
        for name in eager {
            do { try await start(name) } catch {
                logger.error("eager sidecar did not start", metadata: ["sidecar": "\(name)", "error": "\(error.message)"])
            }
        }
        guard let idle = idleTimeout else { return }
        let interval = min(max(idle / 4, .milliseconds(50)), .seconds(5))
        while !Task.isCancelled && !closed {
            try? await Task.sleep(for: interval)
            let now = monotonicNanos()
            let limit = idle.nanoseconds
            for name in order.reversed() where !pinned.contains(name) {
                guard let slot = slots[name], slot.state == .ready, now - slot.lastUsed > limit else { continue }
                // Still needed by a dependent that runs or is starting.
                if dependents(of: name).contains(where: { [.ready, .starting].contains(slots[$0]?.state) }) { continue }
                logger.info("stopping idle sidecar", metadata: ["sidecar": "\(name)"])
                await stop(name)
            }
        }
    }

    /// Stops everything (supervisor shutdown); later starts fail with `shutting_down`.
    public func shutdown(grace: Duration = .seconds(2)) async {
        closed = true
        for name in order.reversed() { await stop(name, grace: grace) }
    }

    /// Each sidecar's state, with the memory of its process tree measured now.
    public func health() -> [SidecarHealth] {
        let tree = slots.values.contains { $0.pid != nil } ? ProcessTree.snapshot() : ProcessTree()
        return order.map { name in
            let slot = slots[name]!
            return SidecarHealth(
                name: name, state: slot.state.rawValue, detail: slot.detail, pid: slot.pid.map(Int.init), restarts: slot.restarts,
                lastExit: slot.lastExit, memoryBytes: slot.pid.map { tree.memoryBytes(ofTree: $0) }, startedAt: slot.startedAt,
                lastUsedAt: slot.lastUsedAt, readyMs: slot.readyMs, eager: pinned.contains(name))
        }
    }

    /// The last lines of a sidecar's log, on one line (only the file's end is read).
    private func logTail(_ path: String, bytes: Int = 600) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "(no log)" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: bytes)
        let end = lseek(fd, 0, SEEK_END)
        let count = pread(fd, &buffer, bytes, max(0, end - off_t(bytes)))
        guard count > 0 else { return "(empty log)" }
        let tail = String(decoding: buffer[0..<count], as: UTF8.self)
        return tail.split(whereSeparator: \.isNewline).suffix(6).joined(separator: " | ")
    }

    static func probe(_ readiness: SidecarSpec.Readiness) async -> Bool {
        switch readiness {
        case .running:
            return true
        case .http(let target, let path):
            guard let response = try? await SimpleHTTPClient().send(target, method: .GET, path: path, timeout: .seconds(1)) else {
                return false
            }
            return (200..<300).contains(response.status)
        case .unixSocket(let path):
            return connectProbe(unixPath: path)
        case .tcpPort(let port):
            return connectProbe(tcpPort: port)
        }
    }
}
