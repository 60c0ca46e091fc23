#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// Spawning a sidecar and waiting for its readiness check.
extension SidecarManager {
    /// Runs `prepare`, spawns `name` with its output in its log and waits for its readiness
    /// check, reporting each step to the lifecycle.
    func launch(_ name: String) async throws(SupervisorError) {
        defer {
            lifecycle.launchEnded(name)
            launches[name] = nil
        }
        guard let spec = lifecycle.slot(name)?.spec else { return }
        do {
            try await spec.prepare?()
        } catch {
            await perform(lifecycle.failedToStart(name, message: error.message))
            throw SupervisorError(error.code, "\(name): \(error.message)", status: 503)
        }
        let logPath = "\(logDirectory)/\(name).log"
        let logFD = openLog(logPath, marker: "--- \(name) starting at \(Date()) ---\n")
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
            await perform(lifecycle.failedToStart(name, message: "could not start \(spec.executable): \(errno)"))
            throw SupervisorError("sidecar_failed", "\(name): could not start \(spec.executable) (\(errno))", status: 503)
        }
        let started = moment()
        let startedActions: [SidecarLifecycle.Action]
        do {
            startedActions = try lifecycle.spawned(name, pid: pid, at: started)
        } catch {
            // Stopped while `prepare` ran: this process has no place to live.
            kill(-pid, SIGKILL)
            _ = await waiter.wait()
            throw error
        }
        waiters[pid] = waiter
        wake.signal()
        await perform(startedActions)

        let deadline = started.monotonic + spec.readyTimeout.nanoseconds
        while true {
            if let status = waiter.status {
                let reason = lifecycle.slot(name)?.detail.map { " (\($0))" } ?? ""
                let message = "\(name) exited with status \(status) before it was ready\(reason); its log ends: \(logTail(logPath))"
                await perform(lifecycle.failedToStart(name, message: message))
                await processExited(name, pid: pid, status: status)
                throw SupervisorError("sidecar_failed", message, status: 503)
            }
            try lifecycle.checkStillStarting(name, pid: pid)
            if await Self.probe(spec.readiness) { break }
            if monotonicNanos() > deadline {
                kill(-pid, SIGKILL)
                let message = "\(name) was not ready within \(spec.readyTimeout); its log ends: \(logTail(logPath))"
                await perform(lifecycle.failedToStart(name, message: message))
                await processExited(name, pid: pid, status: await waiter.wait())
                throw SupervisorError("sidecar_failed", message, status: 503)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let ready = try lifecycle.becameReady(name, pid: pid, at: moment())
        await perform(ready)
    }

    /// Opens a sidecar's log for appending (truncated past 1 MiB) and writes `marker`;
    /// -1 when it cannot be opened (the sidecar then runs without one).
    private func openLog(_ path: String, marker: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return fd }
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_size > 1 << 20 { _ = ftruncate(fd, 0) }
        let bytes = Array(marker.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return fd
    }

    /// The last lines of a sidecar's log, on one line (only the file's end is read).
    func logTail(_ path: String, bytes: Int = 600) -> String {
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
