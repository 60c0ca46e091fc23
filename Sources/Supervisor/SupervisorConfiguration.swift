import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// Where the control plane's internal API is reached.
public enum ControlPlaneEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// HTTP over a unix socket (a file inside a bind-mounted directory).
    case unixSocket(String)
    /// HTTP over TCP: host, port and a path prefix.
    case tcp(host: String, port: Int, basePath: String)

    public var description: String {
        switch self {
        case .unixSocket(let path): "unix:\(path)"
        case .tcp(let host, let port, let base): "http://\(host):\(port)\(base)"
        }
    }

    /// Parses `http://host:port[/prefix]` (plain HTTP only).
    public static func parse(url: String) -> ControlPlaneEndpoint? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let hostPort = rest.prefix { $0 != "/" }
        var base = String(rest.dropFirst(hostPort.count))
        while base.hasSuffix("/") { base.removeLast() }
        let parts = hostPort.split(separator: ":")
        guard let host = parts.first, !host.isEmpty else { return nil }
        let port = parts.count > 1 ? Int(parts[1]) : 80
        guard let port else { return nil }
        return .tcp(host: String(host), port: port, basePath: base)
    }
}

/// Everything the supervisor reads from its environment. The container token is never here:
/// it is read from ``tokenPath`` (a 0600 root-owned file in the run directory).
public struct SupervisorConfiguration: Sendable {
    /// `PERSONA_ID`.
    public var personaId: String
    /// `PERSONA_RUN_DIR` (default `/run/persona`): holds `supervisor.sock` and `token`.
    public var runDirectory: String
    /// `PERSONA_WORKSPACE` (default `/workspace`).
    public var workspace: String
    /// `PERSONA_CACHE_DIR` (default `/cache`): holds `supervisor.db` and `memory.db`.
    public var cacheDirectory: String
    /// `PERSONA_TOOLS_DIR` (default `/opt/persona/tools`).
    public var toolsDirectory: String
    /// `PERSONA_CUSTOM_TOOLS_DIR` (default `/opt/persona/custom-tools`, the read-only mount of
    /// the control plane's uploaded tool packages).
    public var customToolsDirectory = "/opt/persona/custom-tools"
    /// `PERSONA_SUPERVISOR_TCP=1` listens on `PERSONA_SUPERVISOR_TCP_HOST:PORT` (`0.0.0.0:7070`)
    /// as well as on the socket.
    public var tcpListener: (host: String, port: Int)?
    /// `PERSONA_CONTROL_PLANE_URL` or `PERSONA_CONTROL_PLANE_SOCKET`
    /// (default `/run/persona-cp/control.sock`).
    public var controlPlane: ControlPlaneEndpoint
    /// `PERSONA_HEARTBEAT_SECONDS` (default 10).
    public var heartbeatInterval: Duration
    /// `PERSONA_TOOL_UID`/`PERSONA_TOOL_GID` (default 1000/1000); applied only when the
    /// supervisor runs as root.
    public var toolUser: (uid: UInt32, gid: UInt32)?
    /// `PERSONA_SHUTDOWN_GRACE_MS` (default 3000): how long tools get after `SIGTERM`.
    public var shutdownGrace: Duration
    /// `PERSONA_LOG_LEVEL` (default `info`).
    public var logLevel: String
    /// `PERSONA_MEMORY_SYNC_SECONDS` (default 30): how often the memory cache pulls the
    /// control plane's change log; `.zero` syncs only before each `memory_search`.
    public var memorySyncInterval: Duration
    /// `PERSONA_MEMORY_SEARCH_TIMEOUT_SECONDS` (default 3, at most 4 so both fit the tool's
    /// 10 s): how long `memory_search` waits for its sync, and again for the query's embedding,
    /// before answering from what the cache has.
    public var memorySearchTimeout: Duration = .seconds(3)
    /// Sidecars unused this long are stopped (`nil`: never); `PERSONA_SIDECAR_IDLE_SECONDS`
    /// (default 900, 0 = never).
    public var sidecarIdleTimeout: Duration? = .seconds(900)
    /// Needs whose sidecars start at boot and are never stopped for idleness
    /// (`PERSONA_SIDECARS_EAGER=browser,desktop`).
    public var eagerNeeds: [ToolManifest.Need] = []
    /// Chromium runs headed on the desktop (watchable over VNC) instead of headless
    /// (`PERSONA_BROWSER_HEADED=1`).
    public var browserHeaded = false
    /// `WIDTHxHEIGHT` of the desktop and the browser window (`PERSONA_DESKTOP_GEOMETRY`).
    public var desktopGeometry = "1280x800"
    /// The X display of the desktop.
    public var display = PlatformSidecars.defaultDisplay
    /// Root-only directory of the sidecars' logs and the VNC password (a tmpfs).
    public var sidecarDirectory = PlatformSidecars.defaultRuntimeDirectory
    /// The tool user's browser directory: chromium's home, the Playwright driver's socket.
    public var browserDirectory = PlatformSidecars.defaultBrowserDirectory
    public var browserSocket: String { browserDirectory + "/driver.sock" }
    /// uid/gid x11vnc runs as (not the tool user, so no tool can read its password file).
    public var vncUser: (uid: UInt32, gid: UInt32)?
    /// Largest main document `browser_navigate` accepts (`PERSONA_BROWSER_MAX_PAGE_BYTES`).
    public var browserMaxPageBytes = 10 << 20

    public var socketPath: String { runDirectory + "/supervisor.sock" }
    public var tokenPath: String { runDirectory + "/token" }
    public var databasePath: String { cacheDirectory + "/supervisor.db" }
    /// The memory cache (``MemoryCache``): disposable, so a file of its own.
    public var memoryDatabasePath: String { cacheDirectory + "/memory.db" }

    public init(
        personaId: String = "unknown", runDirectory: String = "/run/persona", workspace: String = "/workspace",
        cacheDirectory: String = "/cache", toolsDirectory: String = "/opt/persona/tools",
        tcpListener: (host: String, port: Int)? = nil,
        controlPlane: ControlPlaneEndpoint = .unixSocket("/run/persona-cp/control.sock"),
        heartbeatInterval: Duration = .seconds(10), toolUser: (uid: UInt32, gid: UInt32)? = nil,
        shutdownGrace: Duration = .seconds(3), logLevel: String = "info", memorySyncInterval: Duration = .seconds(30)
    ) {
        self.personaId = personaId
        self.runDirectory = runDirectory
        self.workspace = workspace
        self.cacheDirectory = cacheDirectory
        self.toolsDirectory = toolsDirectory
        self.tcpListener = tcpListener
        self.controlPlane = controlPlane
        self.heartbeatInterval = heartbeatInterval
        self.toolUser = toolUser
        self.shutdownGrace = shutdownGrace
        self.logLevel = logLevel
        self.memorySyncInterval = memorySyncInterval
    }

    /// Reads the configuration from `environment` (the process environment by default).
    /// - Throws: `invalid_configuration` for an unparseable value.
    public static func fromEnvironment(_ environment: [String: String] = processEnvironment()) throws(SupervisorError) -> SupervisorConfiguration {
        func value(_ key: String) -> String? {
            guard let v = environment[key], !v.isEmpty else { return nil }
            return v
        }
        func integer(_ key: String, _ fallback: Int) throws(SupervisorError) -> Int {
            guard let raw = value(key) else { return fallback }
            guard let parsed = Int(raw), parsed >= 0 else {
                throw SupervisorError("invalid_configuration", "\(key) must be a non-negative integer")
            }
            return parsed
        }
        var config = SupervisorConfiguration()
        config.personaId = value("PERSONA_ID") ?? "unknown"
        config.runDirectory = value("PERSONA_RUN_DIR") ?? config.runDirectory
        config.workspace = value("PERSONA_WORKSPACE") ?? config.workspace
        config.cacheDirectory = value("PERSONA_CACHE_DIR") ?? config.cacheDirectory
        config.toolsDirectory = value("PERSONA_TOOLS_DIR") ?? config.toolsDirectory
        config.customToolsDirectory = value("PERSONA_CUSTOM_TOOLS_DIR") ?? config.customToolsDirectory
        if let tcp = value("PERSONA_SUPERVISOR_TCP"), ["1", "true", "yes"].contains(tcp.lowercased()) {
            config.tcpListener = (value("PERSONA_SUPERVISOR_TCP_HOST") ?? "0.0.0.0", try integer("PERSONA_SUPERVISOR_TCP_PORT", 7070))
        }
        if let url = value("PERSONA_CONTROL_PLANE_URL") {
            guard let endpoint = ControlPlaneEndpoint.parse(url: url) else {
                throw SupervisorError("invalid_configuration", "PERSONA_CONTROL_PLANE_URL must be http://host:port[/prefix]")
            }
            config.controlPlane = endpoint
        } else if let socket = value("PERSONA_CONTROL_PLANE_SOCKET") {
            config.controlPlane = .unixSocket(socket)
        }
        config.heartbeatInterval = .seconds(max(1, try integer("PERSONA_HEARTBEAT_SECONDS", 10)))
        config.shutdownGrace = .milliseconds(try integer("PERSONA_SHUTDOWN_GRACE_MS", 3000))
        if geteuid() == 0 {
            config.toolUser = (UInt32(try integer("PERSONA_TOOL_UID", 1000)), UInt32(try integer("PERSONA_TOOL_GID", 1000)))
        }
        config.logLevel = value("PERSONA_LOG_LEVEL") ?? "info"
        config.memorySyncInterval = .seconds(try integer("PERSONA_MEMORY_SYNC_SECONDS", 30))
        config.memorySearchTimeout = .seconds(min(4, max(1, try integer("PERSONA_MEMORY_SEARCH_TIMEOUT_SECONDS", 3))))
        let idle = try integer("PERSONA_SIDECAR_IDLE_SECONDS", 900)
        config.sidecarIdleTimeout = idle == 0 ? nil : .seconds(idle)
        for item in (value("PERSONA_SIDECARS_EAGER") ?? "").split(separator: ",") {
            let name = String(item.filter { !$0.isWhitespace })
            guard let need = ToolManifest.Need(rawValue: name), need != .network else {
                throw SupervisorError("invalid_configuration", "PERSONA_SIDECARS_EAGER lists browser and/or desktop, not \(name)")
            }
            config.eagerNeeds.append(need)
        }
        config.browserHeaded = ["1", "true", "yes"].contains((value("PERSONA_BROWSER_HEADED") ?? "").lowercased())
        if let geometry = value("PERSONA_DESKTOP_GEOMETRY") {
            let parts = geometry.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, (320...7680).contains(parts[0]), (200...4320).contains(parts[1]) else {
                throw SupervisorError("invalid_configuration", "PERSONA_DESKTOP_GEOMETRY must be WIDTHxHEIGHT, e.g. 1280x800")
            }
            config.desktopGeometry = "\(parts[0])x\(parts[1])"
        }
        config.browserMaxPageBytes = max(1024, try integer("PERSONA_BROWSER_MAX_PAGE_BYTES", 10 << 20))
        if geteuid() == 0 {
            config.vncUser = (UInt32(try integer("PERSONA_VNC_UID", 1001)), UInt32(try integer("PERSONA_VNC_GID", 1001)))
        }
        return config
    }
}

/// The process environment as a dictionary.
public func processEnvironment() -> [String: String] {
    var out: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") {
            out[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        cursor += 1
    }
    return out
}
