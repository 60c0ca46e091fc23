import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A helper program run from a test (`openssl`, `docker`, `docker-compose`, `scripts/mail-fill`)
/// without holding a thread while it runs.
///
/// `Process.waitUntilExit()` and reading a pipe to its end block the calling thread, and a
/// test's thread is one of the cooperative pool's two: a `docker compose up` or a 5,000-message
/// fill waited that way stalled every other test's control plane for as long (heartbeats went
/// unprocessed, timers fired 10-15 s late). Here the child is spawned with `posix_spawn` and
/// its exit polled with `waitpid` on an async timer, and the output goes to private files read
/// once it has exited (a pipe nobody reads would stall a chatty child).
/// Standard output and standard error are kept apart.
public enum TestCommand {
    public struct Result: Sendable {
        /// The exit status, or the signal's number when `signalled`.
        public var status: Int32
        public var signalled: Bool
        /// Standard output's bytes.
        public var data: Data
        /// Standard error.
        public var errors: String
        /// Standard output as text.
        public var output: String { String(decoding: data, as: UTF8.self) }
        /// Both, for a failure message.
        public var transcript: String { errors.isEmpty ? output : output + "\n" + errors }
        public var succeeded: Bool { status == 0 && !signalled }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `executable` with `arguments` to its end.
    /// - Parameters:
    ///   - environment: the child's whole environment; the test process's when nil.
    ///   - directory: its working directory.
    ///   - input: what it reads on standard input (nothing when nil).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil, input: Data? = nil) async throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("test-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outputPath = scratch.appendingPathComponent("output").path
        let errorPath = scratch.appendingPathComponent("errors").path
        let inputPath = scratch.appendingPathComponent("input").path
        guard FileManager.default.createFile(atPath: inputPath, contents: input ?? Data()) else {
            throw Failure(description: "cannot create the scratch files of \(executable) in \(scratch.path)")
        }
        let pid = try spawn(executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                            directory: directory, stdin: inputPath, stdout: outputPath, stderr: errorPath)
        let (status, signalled) = await exit(of: pid)
        return Result(status: status, signalled: signalled, data: FileManager.default.contents(atPath: outputPath) ?? Data(),
                      errors: String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self))
    }

    /// Runs `executable` and returns its standard output, throwing with both outputs when it fails.
    @discardableResult
    public static func output(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                              directory: String? = nil, input: Data? = nil) async throws -> String {
        let result = try await run(executable, arguments, environment: environment, directory: directory, input: input)
        guard result.succeeded else {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw Failure(description: "\(name) \(arguments.prefix(3).joined(separator: " ")) failed (\(result.signalled ? "signal" : "status") \(result.status)): \(result.transcript.suffix(4000))")
        }
        return result.output
    }

    /// posix_spawn with standard input, output and error redirected to files: not Foundation's
    /// `Process` (a full run once left a test waiting for a `scripts/mail-fill` that was no
    /// longer running), and not a pipe.
    private static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], directory: String?,
                              stdin: String, stdout: String, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Glibc's posix_spawn_file_actions_addchdir_np is not imported: coreutils' env changes
        // the directory, then execs the program.
        let command = directory.map { ["/usr/bin/env", "--chdir=\($0)", executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard error == 0 else {
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(error)))")
        }
        return pid
    }

    /// Waits for child `pid` to exit, polling `waitpid` for that pid alone (nothing else in
    /// the process waits for it): the exit status, or the signal's number and `true`; -1 when
    /// the status was lost (someone else waited for the child).
    private static func exit(of pid: pid_t) async -> (Int32, Bool) {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result == -1 && errno != EINTR { return (-1, false) }
            await pause(0.02)
        }
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import as functions.
        let signal = status & 0x7f
        return signal != 0 && signal != 0x7f ? (signal, true) : ((status >> 8) & 0xff, false)
    }

    /// Sleeps without being cancellable: a cancelled test still waits for its child.
    private static func pause(_ seconds: Double) async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.resume() }
        }
    }

    /// Waits for a process started elsewhere to exit, polling (a termination handler set after
    /// the start could miss an exit that already happened).
    public static func exit(of process: Process, polling interval: Duration = .milliseconds(20)) async {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while process.isRunning { await pause(seconds) }
    }
}
