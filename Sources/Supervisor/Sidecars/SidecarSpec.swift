#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A long-lived helper process the supervisor owns (chromium, the Playwright driver, Xvfb,
/// x11vnc): how to start it, as whom, when it counts as ready and how it is restarted.
public struct SidecarSpec: Sendable {
    /// How the manager decides a freshly spawned sidecar is usable.
    public enum Readiness: Sendable {
        /// `GET path` answers 2xx.
        case http(SimpleHTTPClient.Target, path: String)
        /// A stream connection to this unix socket succeeds.
        case unixSocket(String)
        /// A TCP connection to this loopback port succeeds.
        case tcpPort(Int)
        /// Running counts as ready.
        case running
    }

    /// Restart after a crash: the delay starts at ``initial``, doubles per crash in a row up
    /// to ``maximum``, and the run of crashes is forgotten once the sidecar has stayed up for
    /// ``resetAfter``.
    public struct Backoff: Sendable {
        public var initial: Duration
        public var maximum: Duration
        public var resetAfter: Duration

        public init(initial: Duration = .milliseconds(250), maximum: Duration = .seconds(30), resetAfter: Duration = .seconds(60)) {
            self.initial = initial
            self.maximum = maximum
            self.resetAfter = resetAfter
        }

        func delay(afterCrashes crashes: Int) -> Duration {
            var delay = initial
            for _ in 1..<max(1, crashes) where delay < maximum { delay *= 2 }
            return min(delay, maximum)
        }
    }

    public var name: String
    public var executable: String
    /// `argv`, `argv[0]` included.
    public var arguments: [String]
    /// The whole environment of the process.
    public var environment: [String: String]
    public var workingDirectory: String?
    /// uid/gid to run as (`nil`: the supervisor's own).
    public var user: (uid: UInt32, gid: UInt32)?
    /// Sidecars that must be ready first. When one of them stops or crashes, this one is
    /// stopped as well and started again after it.
    public var dependsOn: [String]
    public var readiness: Readiness
    /// A spawn that is not ready within this time is killed and the start fails.
    public var readyTimeout: Duration
    public var backoff: Backoff
    /// Runs (as the supervisor) before every spawn: directories, password files.
    public var prepare: (@Sendable () async throws(SupervisorError) -> Void)?
    /// `RLIMIT_*` values set before exec.
    public var limits: [(resource: Int32, soft: UInt64, hard: UInt64)]

    public init(name: String, executable: String, arguments: [String], environment: [String: String] = [:],
                workingDirectory: String? = nil, user: (uid: UInt32, gid: UInt32)? = nil, dependsOn: [String] = [],
                readiness: Readiness = .running, readyTimeout: Duration = .seconds(20), backoff: Backoff = Backoff(),
                prepare: (@Sendable () async throws(SupervisorError) -> Void)? = nil,
                limits: [(resource: Int32, soft: UInt64, hard: UInt64)] = SidecarSpec.defaultLimits) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.dependsOn = dependsOn
        self.readiness = readiness
        self.readyTimeout = readyTimeout
        self.backoff = backoff
        self.prepare = prepare
        self.limits = limits
    }

    /// No core dumps; as many descriptors as we may give (a browser wants thousands; raising
    /// the hard limit needs a capability the container does not have).
    public static let defaultLimits: [(resource: Int32, soft: UInt64, hard: UInt64)] = {
        var current = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &current)
        let files = min(UInt64(current.rlim_max), 65536)
        return [(Int32(RLIMIT_CORE.rawValue), 0, 0), (Int32(RLIMIT_NOFILE.rawValue), files, files)]
    }()
}

#if canImport(Glibc)
import Glibc
#endif
