import Foundation
import Logging
import PersonaKit
import Testing
@testable import Supervisor

/// The sidecar manager with real processes: a small Python server stands in for a sidecar
/// that becomes ready by listening on a unix socket.
@Suite("Sidecar manager: lazy start, readiness, crash restart, idle stop")
struct SidecarManagerTests {
    /// A sidecar that listens on `socket` after `delay` seconds and then waits.
    static func listener(_ name: String, socket: String, delay: Double = 0, dependsOn: [String] = [],
                         backoff: SidecarSpec.Backoff = .init(initial: .milliseconds(100))) -> SidecarSpec {
        let script = "import os, socket, sys, time\ntime.sleep(\(delay))\ns = socket.socket(socket.AF_UNIX)\n"
            + "s.bind(sys.argv[1])\ns.listen()\nprint('listening', flush=True)\nwhile True: time.sleep(3600)\n"
        return SidecarSpec(name: name, executable: "/usr/bin/python3", arguments: ["python3", "-c", script, socket],
                           environment: ["PATH": "/usr/bin:/bin"], dependsOn: dependsOn, readiness: .unixSocket(socket),
                           readyTimeout: .seconds(30), backoff: backoff,
                           prepare: { () async throws(SupervisorError) in unlink(socket) })
    }

    static func manager(_ specs: [SidecarSpec], directory: String, idle: Duration? = nil, eager: [String] = []) -> SidecarManager {
        SidecarManager(specs: specs, processes: Fixtures.runner, logDirectory: directory, idleTimeout: idle, eager: eager,
                       logger: Fixtures.logger)
    }

    static func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { throw SupervisorError("timeout", "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("nothing runs until needed; a dependent starts its dependency first and both report pid, memory and readiness time")
    func lazyStartWithDependency() async throws {
        let dir = try Fixtures.temporaryDirectory("sc")
        defer { Fixtures.remove(dir) }
        let manager = Self.manager([Self.listener("base", socket: dir + "/base.sock", delay: 0.2),
                                    Self.listener("top", socket: dir + "/top.sock", dependsOn: ["base"])], directory: dir)
        #expect(await manager.health().allSatisfy { $0.state == "stopped" && $0.pid == nil })
        try await manager.ensureReady(["top"])
        let health = await manager.health()
        #expect(health.map(\.state) == ["ready", "ready"])
        for sidecar in health {
            #expect((sidecar.pid ?? 0) > 0)
            #expect((sidecar.memoryBytes ?? 0) > 1 << 20, "a Python process holds more than 1 MiB")
            #expect(sidecar.readyMs != nil && sidecar.lastUsedAt != nil && sidecar.restarts == 0)
        }
        #expect((health[0].readyMs ?? 0) >= 200, "ready only once it listens")
        let log = try String(contentsOfFile: dir + "/base.log", encoding: .utf8)
        #expect(log.contains("--- base starting at") && log.contains("listening"), "stdout goes to the sidecar's log")
        await manager.shutdown()
        #expect(await manager.health().allSatisfy { $0.state == "stopped" && $0.lastExit?.requested == true })
        await #expect(throws: SupervisorError.self) { try await manager.ensureReady(["top"]) }
    }

    @Test("a crashed sidecar is restarted after its backoff, and its dependent goes down and comes back with it")
    func crashRestart() async throws {
        let dir = try Fixtures.temporaryDirectory("sc")
        defer { Fixtures.remove(dir) }
        let manager = Self.manager([Self.listener("base", socket: dir + "/base.sock"),
                                    Self.listener("top", socket: dir + "/top.sock", dependsOn: ["base"])], directory: dir)
        // The manager's loop restarts crashed sidecars (the supervisor runs it as a service).
        let runLoop = Task { await manager.run() }
        defer { runLoop.cancel() }
        try await manager.ensureReady(["top"])
        let basePid = try #require(await manager.pid("base"))
        let topPid = try #require(await manager.pid("top"))
        kill(basePid, SIGKILL)
        try await Self.waitFor("base restarted") {
            let pid = await manager.pid("base")
            return await manager.state("base") == .ready && pid != nil && pid != basePid
        }
        try await Self.waitFor("top restarted") {
            let pid = await manager.pid("top")
            return await manager.state("top") == .ready && pid != nil && pid != topPid
        }
        let health = await manager.health()
        #expect(health[0].restarts == 1)
        #expect(health[0].lastExit?.status == -Int(SIGKILL) && health[0].lastExit?.requested == false)
        #expect(health[1].restarts == 0 && health[1].lastExit?.requested == true, "the dependent was stopped, not crashed")
        #expect(kill(topPid, 0) != 0, "the old dependent is gone")
        await manager.shutdown()
    }

    @Test("backoff doubles per crash in a row up to its maximum")
    func backoffDelays() {
        let backoff = SidecarSpec.Backoff(initial: .milliseconds(250), maximum: .seconds(2))
        #expect((1...6).map { backoff.delay(afterCrashes: $0) }
            == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(2), .seconds(2)])
    }

    @Test("an unused sidecar is stopped after the idle time, an eager one and its dependencies are kept")
    func idleStop() async throws {
        let dir = try Fixtures.temporaryDirectory("sc")
        defer { Fixtures.remove(dir) }
        let manager = Self.manager([Self.listener("display", socket: dir + "/d.sock"),
                                    Self.listener("vnc", socket: dir + "/v.sock", dependsOn: ["display"]),
                                    Self.listener("browser", socket: dir + "/b.sock")],
                                   directory: dir, idle: .milliseconds(400), eager: ["vnc"])
        let runLoop = Task { await manager.run() }
        try await Self.waitFor("eager start") { await manager.state("vnc") == .ready }
        try await manager.ensureReady(["browser"])
        try await Self.waitFor("idle stop") { await manager.state("browser") == .stopped }
        let health = await manager.health()
        #expect(health[2].lastExit?.requested == true && health[2].restarts == 0)
        #expect(health[0].state == "ready" && health[1].state == "ready" && health[0].eager && health[1].eager)
        // Used again: started again.
        try await manager.ensureReady(["browser"])
        #expect(await manager.state("browser") == .ready)
        runLoop.cancel()
        await manager.shutdown()
    }

    @Test("a dependency is not stopped for idleness while its dependent is still starting")
    func idleDuringDependentStart() async throws {
        let dir = try Fixtures.temporaryDirectory("sc")
        defer { Fixtures.remove(dir) }
        let manager = Self.manager([Self.listener("base", socket: dir + "/base.sock"),
                                    Self.listener("slow", socket: dir + "/slow.sock", delay: 1.5, dependsOn: ["base"])],
                                   directory: dir, idle: .milliseconds(300))
        let runLoop = Task { await manager.run() }
        // Fails with "stopped while starting" when base is taken for idle during slow's 1.5 s start.
        try await manager.ensureReady(["slow"])
        runLoop.cancel()
        let health = await manager.health()
        #expect(health.allSatisfy { $0.restarts == 0 && $0.readyMs != nil }, "\(health)")
        await manager.shutdown()
    }

    @Test("a sidecar that exits while starting fails the start with its log, and is not restarted")
    func startFailure() async throws {
        let dir = try Fixtures.temporaryDirectory("sc")
        defer { Fixtures.remove(dir) }
        let broken = SidecarSpec(name: "broken", executable: "/bin/sh", arguments: ["sh", "-c", "echo chromium-said-boom >&2; exit 3"],
                                 readiness: .tcpPort(1))
        let manager = Self.manager([broken], directory: dir)
        let error = await #expect(throws: SupervisorError.self) { try await manager.ensureReady(["broken"]) }
        #expect(error?.code == "sidecar_failed")
        #expect(error?.message.contains("status 3") == true && error?.message.contains("chromium-said-boom") == true)
        try await Task.sleep(for: .milliseconds(400))
        let health = await manager.health()
        #expect(health[0].state == "stopped" && health[0].restarts == 0 && health[0].lastExit?.status == 3)
    }

    @Test("a sidecar that never passes its readiness check is killed after the ready timeout")
    func readinessTimeout() async throws {
        let dir = try Fixtures.temporaryDirectory("sc")
        defer { Fixtures.remove(dir) }
        let silent = SidecarSpec(name: "silent", executable: "/bin/sleep", arguments: ["sleep", "100"],
                                 readiness: .unixSocket(dir + "/never.sock"), readyTimeout: .milliseconds(300))
        let manager = Self.manager([silent], directory: dir)
        let error = await #expect(throws: SupervisorError.self) { try await manager.ensureReady(["silent"]) }
        #expect(error?.message.contains("not ready within") == true)
        try await Self.waitFor("killed") { await manager.health()[0].lastExit?.status == -Int(SIGKILL) }
        #expect(await manager.pid("silent") == nil)
    }

    @Test("a sidecar this image lacks is refused with sidecar_unavailable")
    func unknownSidecar() async throws {
        let manager = Self.manager([], directory: "/tmp")
        let error = await #expect(throws: SupervisorError.self) { try await manager.ensureReady(["playwright"]) }
        #expect(error?.code == "sidecar_unavailable" && error?.status == 409)
    }
}

@Suite("Tools that need sidecars")
struct SidecarToolTests {
    @Test("browser and desktop tools load only where their sidecars are installed")
    func catalogByNeeds() {
        let plain = ToolCatalog.load(from: Fixtures.toolsDirectory, available: [.network], logger: Fixtures.logger)
        #expect(plain["shell"] != nil && plain["http_fetch"] != nil)
        #expect(plain.entries.keys.allSatisfy { !$0.hasPrefix("browser_") && !$0.hasPrefix("desktop_") })
        let full = ToolCatalog.load(from: Fixtures.toolsDirectory, available: [.network, .browser, .desktop], logger: Fixtures.logger)
        let expected = ["browser_navigate", "browser_click", "browser_type", "browser_extract", "browser_screenshot",
                        "browser_evaluate", "desktop_screenshot", "desktop_click", "desktop_type", "desktop_key"]
        for name in expected { #expect(full[name] != nil, "\(name) loads") }
        #expect(full["browser_evaluate"]?.manifest.requiresApproval == true)
        #expect(full["browser_navigate"]?.manifest.needs == [.browser] && full["desktop_click"]?.manifest.needs == [.desktop])
        #expect(PlatformSidecars.sidecars(for: [.browser]) == ["playwright"])
        #expect(PlatformSidecars.sidecars(for: [.desktop, .network]) == ["x11vnc"])
    }

    @Test("the desktop and browser sidecars are declared with the right users, dependencies and no password on a command line")
    func platformSpecs() throws {
        var configuration = SupervisorConfiguration()
        configuration.toolUser = (1000, 1000)
        configuration.vncUser = (1001, 1001)
        configuration.browserHeaded = true
        var installation = PlatformSidecars.Installation()
        installation.chromium = "/bin/sh"
        installation.python = "/bin/sh"
        installation.driver = "/bin/sh"
        installation.xvfb = "/bin/sh"
        installation.x11vnc = "/bin/sh"
        let specs = PlatformSidecars.specs(configuration: configuration, secrets: SecretStore([:], vncPassword: "s3cret"),
                                           installation: installation)
        #expect(specs.map(\.name) == ["xvfb", "x11vnc", "chromium", "playwright"])
        let byName = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        #expect(byName["x11vnc"]?.user?.uid == 1001 && byName["chromium"]?.user?.uid == 1000)
        #expect(byName["chromium"]?.dependsOn == ["xvfb"], "headed chromium runs on the desktop")
        #expect(byName["chromium"]?.environment["DISPLAY"] == ":1")
        #expect(byName["chromium"]?.arguments.contains("--headless=new") == false)
        #expect(byName["chromium"]?.arguments.contains("--remote-debugging-address=127.0.0.1") == true)
        #expect(byName["playwright"]?.dependsOn == ["chromium"])
        for spec in specs {
            #expect(!spec.arguments.joined(separator: " ").contains("s3cret"))
            #expect(!spec.environment.values.contains { $0.contains("s3cret") })
        }
        configuration.browserHeaded = false
        let headless = PlatformSidecars.specs(configuration: configuration, secrets: SecretStore(), installation: installation)
        #expect(headless.first { $0.name == "chromium" }?.dependsOn == [])
        #expect(headless.first { $0.name == "chromium" }?.arguments.contains("--headless=new") == true)
    }

    @Test("a tool that needs a sidecar fails with sidecar_unavailable where the supervisor runs none")
    func needsWithoutSidecars() async throws {
        let extra = """
        {"name": "needs_desktop", "description": "x", "category": "test", "needs": ["desktop"], "command": ["run"]}
        """
        let (runner, _, _, cleanup) = try Fixtures.makeToolRunner(extraTools: ["needs_desktop": (extra, "#!/bin/sh\necho '{}'\n")])
        defer { cleanup() }
        let catalogHasIt = await runner.catalog["needs_desktop"] != nil
        if catalogHasIt {
            let result = try await runner.invoke(tool: "needs_desktop", request: InvocationRequest(arguments: [:]), trace: TraceContext.newRoot())
            #expect(result.status == .failed && result.errorCode == "sidecar_unavailable")
        } else {
            Issue.record("the fixture catalog should load every tool")
        }
    }
}
