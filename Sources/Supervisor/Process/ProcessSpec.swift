#if canImport(Glibc)
import Glibc
#endif

/// What to start and under which limits. The child gets exactly ``environment`` (nothing is
/// inherited from the supervisor), its own process group, and ``user`` when set.
public struct ProcessSpec: Sendable {
    /// Absolute path of the executable (no `PATH` search).
    public var executable: String
    /// `argv`, including `argv[0]`.
    public var arguments: [String]
    /// The whole environment of the child.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// uid/gid to switch to before exec (requires `CAP_SETUID`/`CAP_SETGID`); `nil` keeps ours.
    public var user: (uid: UInt32, gid: UInt32)?
    /// Bytes written to the child's stdin, which is then closed.
    public var stdin: [UInt8]
    /// The child's whole process group is killed (`SIGKILL`) when this runs out.
    public var timeout: Duration
    /// Stdout beyond this many bytes is drained and dropped; ``ProcessOutcome/stdoutTruncated`` says so.
    public var maxStdoutBytes: Int
    /// When set, the process group is killed (`SIGKILL`) as soon as stdout passes
    /// ``maxStdoutBytes`` instead of being drained to its end (a download that only needs its
    /// first bytes). ``ProcessOutcome/stdoutTruncated`` says so; the exit status is `-SIGKILL`.
    public var killWhenStdoutFull: Bool
    /// Only the last this-many bytes of stderr are kept.
    public var stderrTailBytes: Int
    /// `RLIMIT_*` values set in the child before exec.
    public var limits: [(resource: Int32, soft: UInt64, hard: UInt64)]

    public init(
        executable: String, arguments: [String], environment: [String: String] = [:],
        workingDirectory: String? = nil, user: (uid: UInt32, gid: UInt32)? = nil, stdin: [UInt8] = [],
        timeout: Duration = .seconds(60), maxStdoutBytes: Int = 1 << 20, killWhenStdoutFull: Bool = false,
        stderrTailBytes: Int = 4096, limits: [(resource: Int32, soft: UInt64, hard: UInt64)] = ProcessSpec.defaultLimits
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.stdin = stdin
        self.timeout = timeout
        self.maxStdoutBytes = maxStdoutBytes
        self.killWhenStdoutFull = killWhenStdoutFull
        self.stderrTailBytes = stderrTailBytes
        self.limits = limits
    }

    /// Core dumps off, open files capped, file size capped at 1 GiB.
    public static let defaultLimits: [(resource: Int32, soft: UInt64, hard: UInt64)] = [
        (Int32(RLIMIT_CORE.rawValue), 0, 0),
        (Int32(RLIMIT_NOFILE.rawValue), 4096, 4096),
        (Int32(RLIMIT_FSIZE.rawValue), 1 << 30, 1 << 30),
    ]
}

/// How a process run ended.
public struct ProcessOutcome: Sendable {
    public var pid: Int32
    /// Exit code (>= 0) or minus the signal that killed it.
    public var exitStatus: Int32
    public var stdout: [UInt8]
    public var stdoutTruncated: Bool
    public var stderrTail: [UInt8]
    public var timedOut: Bool
    public var cancelled: Bool
    public var duration: Duration
}

/// A handle to cancel a running process (its whole group) from another task.
public final class ProcessHandle: Sendable {
    private let state = Mutex<(pgid: pid_t?, cancelled: Bool)>((nil, false))

    public init() {}

    /// Kills the process group now, or as soon as it exists.
    public func cancel() {
        let pgid: pid_t? = state.withLock { state in
            state.cancelled = true
            return state.pgid
        }
        if let pgid { kill(-pgid, SIGKILL) }
    }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Records the group; returns `true` when a cancel already arrived (the caller kills it).
    func attach(_ pgid: pid_t) -> Bool {
        state.withLock { state in
            state.pgid = pgid
            return state.cancelled
        }
    }
}

import Synchronization
