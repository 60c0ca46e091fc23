import CSupervisorShim
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import PersonaCore

/// Starts processes through the fork/exec shim and the ``Reaper``, feeds stdin, collects
/// capped stdout and a stderr tail, and enforces the timeout by killing the process group.
/// When the leader exits, whatever is left of its group is killed too: a tool's processes do
/// not outlive its invocation.
public struct ProcessRunner: Sendable {
    public let reaper: Reaper

    public init(reaper: Reaper) {
        self.reaper = reaper
    }

    /// Runs `spec` to completion (or timeout / cancel) and returns how it ended.
    /// - Throws: ``SupervisorError`` `spawn_failed` when the process could not be started.
    public func run(_ spec: ProcessSpec, handle: ProcessHandle = ProcessHandle()) async throws(SupervisorError) -> ProcessOutcome {
        let started = monotonicNanos()
        let deadline = started + spec.timeout.nanoseconds
        let pipes = try Pipes.make()
        // The fork, the wait for the child's exec and the pipe pump block in the kernel (for
        // milliseconds in a large parent): one thread of their own does all three, off the
        // cooperative pool.
        let spawned = await runBlocking { [self] () -> Result<(pid_t, ExitWaiter, PipePump.Result), Errno> in
            let spawned = spawn(executable: spec.executable, arguments: spec.arguments, environment: spec.environment,
                                workingDirectory: spec.workingDirectory, user: spec.user, limits: spec.limits,
                                stdin: pipes.stdin.read, stdout: pipes.stdout.write, stderr: pipes.stderr.write)
            pipes.closeChildEnds()
            switch spawned {
            case .success(let (pid, waiter)):
                if handle.attach(pid) { kill(-pid, SIGKILL) }
                let io = PipePump(pipes: pipes, spec: spec, pgid: pid, deadline: deadline, waiter: waiter, handle: handle).run()
                return .success((pid, waiter, io))
            case .failure(let error):
                pipes.closeParentEnds()
                return .failure(error)
            }
        }
        let pid: pid_t
        let waiter: ExitWaiter
        let io: PipePump.Result
        switch spawned {
        case .success(let value):
            (pid, waiter, io) = value
        case .failure(let error):
            throw SupervisorError("spawn_failed", "could not start \(spec.executable)", status: 500, underlying: error)
        }
        let status = await waiter.wait()
        // Stragglers left in the group (background jobs) go with the leader.
        kill(-pid, SIGKILL)
        let elapsed = monotonicNanos() - started
        return ProcessOutcome(
            pid: pid, exitStatus: status, stdout: io.stdout, stdoutTruncated: io.stdoutTruncated,
            stderrTail: io.stderrTail, timedOut: io.timedOut, cancelled: handle.isCancelled && !io.timedOut,
            duration: .nanoseconds(Int64(elapsed))
        )
    }

    /// Forks and execs through the shim while the reaper holds its lock; the child gets the
    /// given descriptors as stdio (`-1` stdin: `/dev/null`), its own process group and `user`.
    func spawn(executable: String, arguments: [String], environment: [String: String], workingDirectory: String?,
               user: (uid: UInt32, gid: UInt32)?, limits: [(resource: Int32, soft: UInt64, hard: UInt64)],
               stdin: Int32, stdout: Int32, stderr: Int32) -> Result<(pid_t, ExitWaiter), Errno> {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        defer {
            argv.free()
            envp.free()
        }
        let limits = limits.map { ps_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        // An executable still open for writing somewhere (being installed, or a descriptor a
        // concurrent fork inherited until its exec) fails with ETXTBSY for a moment: retry.
        var attempt = 0
        while true {
            let result = executable.withCString { path in
                (workingDirectory ?? "").withCString { cwd in
                    limits.withUnsafeBufferPointer { limitBuffer in
                        var config = ps_spawn_config(
                            path: path, argv: argv.pointer, envp: envp.pointer,
                            cwd: workingDirectory == nil ? nil : cwd,
                            uid: user.map { Int32(bitPattern: $0.uid) } ?? -1,
                            gid: user.map { Int32(bitPattern: $0.gid) } ?? -1,
                            stdin_fd: stdin, stdout_fd: stdout, stderr_fd: stderr,
                            rlimits: limitBuffer.baseAddress, rlimit_count: Int32(limitBuffer.count)
                        )
                        return reaper.spawn {
                            var error: Int32 = 0
                            var failedChild: pid_t = 0
                            let pid = ps_spawn(&config, &error, &failedChild)
                            return (pid, failedChild, error)
                        }
                    }
                }
            }
            if case .failure(let error) = result, error.value == ETXTBSY, attempt < 20 {
                attempt += 1
                usleep(25_000)
                continue
            }
            return result
        }
    }
}

/// A NULL-terminated `char *const *` built from Swift strings; free it explicitly.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointer[index] = strdup(string) }
        pointer[strings.count] = nil
    }

    func free() {
        for index in 0..<count { Glibc.free(pointer[index]) }
        pointer.deallocate()
    }
}

/// The three pipes of a child. Parent ends are close-on-exec and non-blocking.
struct Pipes: Sendable {
    struct Pair: Sendable {
        var read: Int32
        var write: Int32
    }

    let stdin: Pair
    let stdout: Pair
    let stderr: Pair

    static func make() throws(SupervisorError) -> Pipes {
        var made: [Pair] = []
        for _ in 0..<3 {
            var fds: [Int32] = [0, 0]
            guard ps_pipe_cloexec(&fds) == 0 else {
                let code = errno
                for pair in made { close(pair.read); close(pair.write) }
                throw .system("could not create pipes", errno: code)
            }
            made.append(Pair(read: fds[0], write: fds[1]))
        }
        for fd in [made[0].write, made[1].read, made[2].read] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return Pipes(stdin: made[0], stdout: made[1], stderr: made[2])
    }

    func closeChildEnds() {
        close(stdin.read)
        close(stdout.write)
        close(stderr.write)
    }

    func closeParentEnds() {
        close(stdin.write)
        close(stdout.read)
        close(stderr.read)
    }
}

/// Moves bytes between the supervisor and a child on a dedicated thread with `poll(2)`.
struct PipePump {
    struct Result: Sendable {
        var stdout: [UInt8] = []
        var stdoutTruncated = false
        var stderrTail: [UInt8] = []
        var timedOut = false
    }

    let pipes: Pipes
    let spec: ProcessSpec
    let pgid: pid_t
    let deadline: UInt64
    let waiter: ExitWaiter
    let handle: ProcessHandle

    /// How long output may keep flowing after the leader exited (a background job holding
    /// the pipe) before the group is killed and reading stops.
    static let drainAfterExit: UInt64 = 250_000_000

    func run() -> Result {
        var result = Result()
        var stdinFD: Int32 = pipes.stdin.write
        var stdinOffset = 0
        var stdoutFD: Int32 = pipes.stdout.read
        var stderrFD: Int32 = pipes.stderr.read
        var exitSeenAt: UInt64?
        var buffer = [UInt8](repeating: 0, count: 65536)
        if spec.stdin.isEmpty {
            close(stdinFD)
            stdinFD = -1
        }
        defer {
            for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { close(fd) }
        }
        while stdoutFD >= 0 || stderrFD >= 0 {
            let now = monotonicNanos()
            if now >= deadline && !result.timedOut {
                result.timedOut = true
                kill(-pgid, SIGKILL)
            }
            if waiter.status != nil {
                if let seen = exitSeenAt {
                    if now - seen > Self.drainAfterExit {
                        kill(-pgid, SIGKILL)
                        break
                    }
                } else {
                    exitSeenAt = now
                }
            }
            var fds: [pollfd] = []
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            let wait = result.timedOut ? 20 : Int32(min(50, max(1, (deadline &- now) / 1_000_000)))
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready <= 0 { continue }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdinFD {
                    let n = spec.stdin.withUnsafeBytes { raw in
                        write(stdinFD, raw.baseAddress! + stdinOffset, raw.count - stdinOffset)
                    }
                    if n > 0 { stdinOffset += n }
                    if n < 0 && errno != EAGAIN && errno != EINTR || stdinOffset >= spec.stdin.count {
                        close(stdinFD)
                        stdinFD = -1
                    }
                    continue
                }
                let n = read(entry.fd, &buffer, buffer.count)
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if n <= 0 {
                    close(entry.fd)
                    if entry.fd == stdoutFD { stdoutFD = -1 } else { stderrFD = -1 }
                    continue
                }
                if entry.fd == stdoutFD {
                    let room = spec.maxStdoutBytes - result.stdout.count
                    if room >= n {
                        result.stdout.append(contentsOf: buffer[0..<n])
                    } else {
                        if room > 0 { result.stdout.append(contentsOf: buffer[0..<room]) }
                        if spec.killWhenStdoutFull && !result.stdoutTruncated { kill(-pgid, SIGKILL) }
                        result.stdoutTruncated = true
                    }
                } else {
                    result.stderrTail.append(contentsOf: buffer[0..<n])
                    if result.stderrTail.count > spec.stderrTailBytes * 2 {
                        result.stderrTail.removeFirst(result.stderrTail.count - spec.stderrTailBytes)
                    }
                }
            }
        }
        if result.stderrTail.count > spec.stderrTailBytes {
            result.stderrTail.removeFirst(result.stderrTail.count - spec.stderrTailBytes)
        }
        // Pipes are closed; the leader may still run (it closed its output). Keep the
        // deadline and the cancel in force until it exits.
        while waiter.status == nil {
            let now = monotonicNanos()
            if now >= deadline && !result.timedOut {
                result.timedOut = true
                kill(-pgid, SIGKILL)
            }
            // Woken the moment the reaper delivers the exit (a cancel kills the group, so it
            // ends here too); the bound keeps the deadline checked.
            waiter.waitBlocking(nanoseconds: result.timedOut ? 20_000_000 : min(50_000_000, max(1_000_000, deadline &- now)))
        }
        return result
    }
}
