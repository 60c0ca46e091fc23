#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// The sidecars of the persona images: `xvfb` and `x11vnc` (the desktop), `chromium` and
/// `playwright` (the browser: a Playwright driver attached to chromium over CDP on loopback).
/// Only what is installed in the image is declared.
public enum PlatformSidecars {
    public static let defaultDisplay = ":1"
    public static let defaultRuntimeDirectory = "/tmp/persona-sidecars"
    /// The tool user's directory for the browser (home, the driver's socket).
    public static let defaultBrowserDirectory = "/tmp/persona-browser"
    public static let cdpPort = 9222
    public static let vncPort = 5900

    /// Where the parts live in the desktop image.
    public struct Installation: Sendable {
        public var chromium = "/usr/bin/chromium"
        public var python = "/opt/persona/browser/venv/bin/python3"
        public var driver = "/opt/persona/browser/driver.py"
        public var xvfb = "/usr/bin/Xvfb"
        public var x11vnc = "/usr/bin/x11vnc"

        public init() {}

        var hasBrowser: Bool { [chromium, python, driver].allSatisfy { (path: String) in access(path, R_OK) == 0 } }
        var hasDesktop: Bool { [xvfb, x11vnc].allSatisfy { (path: String) in access(path, X_OK) == 0 } }
    }

    /// The sidecars a tool's `needs` start (with their dependencies).
    public static func sidecars(for needs: [ToolManifest.Need]) -> [String] {
        var names: [String] = []
        if needs.contains(.desktop) { names.append("x11vnc") }
        if needs.contains(.browser) { names.append("playwright") }
        return names
    }

    /// The needs the declared sidecars meet.
    public static func availableNeeds(_ specs: [SidecarSpec]) -> Set<ToolManifest.Need> {
        let names = Set(specs.map(\.name))
        var needs: Set<ToolManifest.Need> = [.network]
        for need in [ToolManifest.Need.browser, .desktop] where sidecars(for: [need]).allSatisfy(names.contains) { needs.insert(need) }
        return needs
    }

    /// Declares the installed sidecars for `configuration`.
    public static func specs(configuration: SupervisorConfiguration, secrets: SecretStore,
                             installation: Installation = Installation()) -> [SidecarSpec] {
        let runtime = configuration.sidecarDirectory
        let user = configuration.toolUser
        let display = configuration.display
        let headed = configuration.browserHeaded && installation.hasDesktop
        // The browser's own directories belong to the tool user; /tmp is the only place it and
        // we can both create them (the cache's browser directory is made by the control plane).
        let browserDirectory = configuration.browserDirectory
        let browserHome = browserDirectory + "/home"
        let profile = configuration.cacheDirectory + "/browser/profile"
        let base: [String: String] = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"]
        /// The tool user's browser directory and home (Xvfb, chromium and the driver run there).
        let makeBrowserHome = { @Sendable () throws(SupervisorError) in
            try makeDirectory(browserDirectory, mode: 0o711, user: user)
            try makeDirectory(browserHome, mode: 0o700, user: user)
        }
        var specs: [SidecarSpec] = []

        if installation.hasDesktop {
            let geometry = configuration.desktopGeometry
            specs.append(SidecarSpec(
                name: "xvfb", executable: installation.xvfb,
                arguments: [installation.xvfb, display, "-screen", "0", "\(geometry)x24", "-nolisten", "tcp", "-ac", "-extension", "GLX"],
                environment: base.merging(["HOME": browserHome], uniquingKeysWith: { $1 }), workingDirectory: "/",
                user: user, readiness: .unixSocket("/tmp/.X11-unix/X\(display.dropFirst())"),
                prepare: { () async throws(SupervisorError) in
                    try makeDirectory("/tmp/.X11-unix", mode: 0o1777)
                    try makeBrowserHome()
                }))
            let vncDirectory = runtime + "/vnc"
            let vncUser = configuration.vncUser
            specs.append(SidecarSpec(
                name: "x11vnc", executable: installation.x11vnc,
                arguments: [installation.x11vnc, "-display", display, "-rfbport", String(vncPort), "-passwdfile", "\(vncDirectory)/passwd",
                            "-forever", "-shared", "-noxdamage", "-noshm", "-noremote", "-nocmds", "-nolookup", "-quiet", "-norc"],
                environment: base.merging(["HOME": vncDirectory], uniquingKeysWith: { $1 }), workingDirectory: "/",
                user: vncUser, dependsOn: ["xvfb"], readiness: .tcpPort(vncPort),
                prepare: { () async throws(SupervisorError) in
                    // Never without a password: wait for the control plane's answer.
                    var waited = 0
                    while !secrets.isLoaded && waited < 100 {
                        try? await Task.sleep(for: .milliseconds(100))
                        waited += 1
                    }
                    guard let password = secrets.vncPassword, !password.isEmpty else {
                        throw SupervisorError("vnc_password_unavailable", "the control plane has not handed over the desktop's VNC password")
                    }
                    // root:persona-vnc 0710 and 0640: x11vnc reads it, the tool user cannot.
                    try makeDirectory(vncDirectory, mode: 0o710, user: vncUser.map { (geteuid(), $0.gid) })
                    try writeGroupReadableFile(vncDirectory + "/passwd", Array((password + "\n").utf8), group: vncUser?.gid)
                }))
        }
        if installation.hasBrowser {
            var environment = base
            environment["HOME"] = browserHome
            environment["XDG_CONFIG_HOME"] = browserHome + "/.config"
            environment["XDG_CACHE_HOME"] = browserHome + "/.cache"
            var arguments = [installation.chromium]
            if headed {
                environment["DISPLAY"] = display
            } else {
                arguments.append("--headless=new")
            }
            arguments += [
                "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--password-store=basic",
                "--use-mock-keychain", "--hide-crash-restore-bubble", "--test-type", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=\(cdpPort)",
                "--user-data-dir=\(profile)", "--window-size=\(configuration.desktopGeometry.split(separator: "x").joined(separator: ","))",
                "--window-position=0,0", "about:blank",
            ]
            let cacheDirectory = configuration.cacheDirectory
            specs.append(SidecarSpec(
                name: "chromium", executable: installation.chromium, arguments: arguments, environment: environment,
                workingDirectory: "/", user: user, dependsOn: headed ? ["xvfb"] : [],
                readiness: .http(.tcp(host: "127.0.0.1", port: cdpPort), path: "/json/version"), readyTimeout: .seconds(30),
                prepare: { () async throws(SupervisorError) in
                    try makeBrowserHome()
                    do throws(SupervisorError) {
                        try makeDirectory(cacheDirectory + "/browser", mode: 0o700, user: user)
                    } catch {
                        throw SupervisorError("sidecar_setup_failed", "\(cacheDirectory)/browser must be a directory of the tool user (the control plane makes it): \(error.message)")
                    }
                    try makeDirectory(profile, mode: 0o700, user: user)
                    // The profile outlives containers; a lock naming another container's
                    // hostname would make chromium refuse to start.
                    try asFilesystemUser(user) { () throws(SupervisorError) in
                        for name in ["SingletonLock", "SingletonSocket", "SingletonCookie"] { unlink(profile + "/" + name) }
                    }
                }))
            let socket = configuration.browserSocket
            var driverEnvironment = base
            driverEnvironment["HOME"] = browserHome
            driverEnvironment["PERSONA_BROWSER_CDP"] = "http://127.0.0.1:\(cdpPort)"
            driverEnvironment["PERSONA_BROWSER_SOCKET"] = socket
            driverEnvironment["PERSONA_BROWSER_MAX_PAGE_BYTES"] = String(configuration.browserMaxPageBytes)
            driverEnvironment["PYTHONUNBUFFERED"] = "1"
            specs.append(SidecarSpec(
                name: "playwright", executable: installation.python, arguments: [installation.python, installation.driver],
                environment: driverEnvironment, workingDirectory: "/", user: user, dependsOn: ["chromium"],
                readiness: .http(.unixSocket(socket), path: "/health"), readyTimeout: .seconds(30),
                prepare: { () async throws(SupervisorError) in try makeBrowserHome() }))
        }
        return specs
    }

    /// `mkdir` (an existing directory is fine), then `chmod`, with the filesystem uid/gid of
    /// `user` when the supervisor is root (the container has no `CAP_CHOWN`: what we create
    /// belongs to whoever creates it). Verifies the result is a real directory owned by that
    /// user, so nothing planted in a shared directory (`/tmp`) is used.
    static func makeDirectory(_ path: String, mode: mode_t, user: (uid: UInt32, gid: UInt32)? = nil) throws(SupervisorError) {
        try asFilesystemUser(user) { () throws(SupervisorError) in
            if mkdir(path, mode) != 0 && errno != EEXIST {
                throw .system("could not create \(path)", errno: errno, code: "sidecar_setup_failed")
            }
            chmod(path, mode)
            var info = stat()
            let expected = user?.uid ?? geteuid()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == expected else {
                throw SupervisorError("sidecar_setup_failed", "\(path) is not a directory owned by uid \(expected)")
            }
        }
    }

    /// Writes a file readable by `group` only (mode `0640`, owner root when we are root),
    /// replacing any old one.
    static func writeGroupReadableFile(_ path: String, _ bytes: [UInt8], group: UInt32?) throws(SupervisorError) {
        try asFilesystemUser(group.map { (geteuid(), $0) }) { () throws(SupervisorError) in
            unlink(path)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o640)
            guard fd >= 0 else { throw .system("could not write \(path)", errno: errno, code: "sidecar_setup_failed") }
            defer { close(fd) }
            fchmod(fd, 0o640)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else { throw .system("could not write \(path)", errno: errno, code: "sidecar_setup_failed") }
        }
    }
}
