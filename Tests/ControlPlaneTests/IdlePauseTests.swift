import ControlPlane
import Containers
import DockerEngine
import Foundation
import PersonaKit
import PersonaStorage
import Testing
import TestSupport
import TestTraits

/// Idle pause and wake on demand in real containers of the real images: the idle sweep pauses
/// an idle persona (engine, API and event log agree), a tool call wakes it with its memory, two
/// at once unpause it once, the health monitor neither samples nor alerts on it, a longer idle
/// stops it and the next call starts it again; running calls, VNC viewers and eager sidecars
/// keep it awake. The idle settings count seconds here (`idleMinuteSeconds`, `idleHourSeconds`).
@Suite("Idle pause and wake", .serialized, .blocking)
struct IdlePauseTests {
    /// Idle "minutes" and "hours" of one second each; every activity written.
    @Sendable static func seconds(_ c: inout AppConfiguration) {
        c.containers.idleMinuteSeconds = 1
        c.containers.idleHourSeconds = 1
        c.containers.activityWriteSeconds = 0
    }

    static func settings(_ api: APIClient, _ token: String, idle: Int, stop: Int,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let put = try await api.put("/api/admin/settings", token: token,
                                    json: ["personaIdleMinutes": .number(Double(idle)), "personaStopAfterIdleHours": .number(Double(stop))])
        #expect(put.status == .ok, "\(put.body)", sourceLocation: sourceLocation)
    }

    static func status(_ api: APIClient, _ token: String, _ id: String) async throws -> JSONValue {
        try #require(try await api.get("/api/personas/\(id)/container", token: token).data)
    }

    /// The `container.state` events of the persona, in order.
    static func states(_ services: AppComponents, _ id: String) async throws -> [String] {
        let events = try await services.database.withConnection { try await PersonaEventRepository().events(personaId: id, after: 0, limit: 1000, on: $0) }
        return events.filter { $0.type == "container.state" }.compactMap {
            (try? JSONDecoder().decode(JSONValue.self, from: Data($0.data.utf8)))?["state"]?.stringValue
        }
    }

    @Test("an idle persona is paused (engine, API, event); no sample and no heartbeat alert while paused; two tool calls at once wake it with one unpause and its memory intact",
          arguments: TestBackend.allCases)
    func pauseAndWake(backend: TestBackend) async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(backend, configure: Self.seconds) { api, services in
            let admin = try await api.login().access
            for bad: JSONValue in [["personaIdleMinutes": -1], ["personaIdleMinutes": 10_081], ["personaStopAfterIdleHours": 8_761],
                                   ["personaStopAfterIdleHours": "24"]] {
                #expect(try await api.put("/api/admin/settings", token: admin, json: bad).status == .badRequest, "\(bad)")
            }
            let defaults = try await api.get("/api/admin/settings", token: admin).data
            #expect(defaults?["personaIdleMinutes"] == 15 && defaults?["personaStopAfterIdleHours"] == 24)

            let id = try await ContainerTests.persona(api, admin)
            let started = try await ContainerTests.start(api, admin, id)
            let containerId = try #require(started["containerId"]?.stringValue)
            let bootId = try #require(started["supervisor"]?["bootId"]?.stringValue)
            // Something only the container's memory holds: a file on its tmpfs /tmp.
            let seeded = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "echo kept > /tmp/marker"]])
            #expect(seeded.data?["status"] == "succeeded", "\(seeded.body)")

            // Idle for 3 "minutes" (seconds): the reconciler's loop (every 2 s) pauses it.
            try await Self.settings(api, admin, idle: 3, stop: 0)
            #expect(try await ContainerTests.eventually(20) { try await Self.status(api, admin, id)["state"] == "paused" })
            let paused = try await Self.status(api, admin, id)
            #expect(paused["desiredState"] == "running")
            #expect(paused["pausedAt"]?.stringValue != nil && paused["idleSince"]?.stringValue != nil, "\(paused)")
            #expect(paused["resources"] == nil || paused["resources"] == .null, "no usage figures for a frozen container")
            let inspect = try await docker.inspectContainer(containerId)
            #expect(inspect.state.paused && inspect.state.status == "paused")
            #expect(try await Self.states(services, id).suffix(2) == ["ready", "paused"])

            // Past the heartbeat deadline (3 beats + 5 s = 8 s in tests): no sample, no alert.
            try await Task.sleep(for: .seconds(9))
            let rows = try await services.health.sample()
            #expect(!rows.contains { $0.personaId == id }, "a paused container is not sampled")
            #expect(try await api.get("/api/personas/\(id)/alerts?status=open", token: admin).data == [])
            #expect(try await Self.status(api, admin, id)["state"] == "paused", "the reconciler left it alone")

            // Two calls at once: both answer, from the same supervisor and memory, after one unpause.
            let since = Date().addingTimeInterval(-1)
            async let first = ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "cat /tmp/marker"]])
            async let second = ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "echo second"]])
            let (a, b) = try await (first, second)
            try await Self.settings(api, admin, idle: 0, stop: 0)
            #expect(a.data?["status"] == "succeeded" && a.data?["output"]?["stdout"] == "kept\n", "\(a.body)")
            #expect(b.data?["status"] == "succeeded" && b.data?["output"]?["stdout"] == "second\n", "\(b.body)")
            let woken = try await Self.status(api, admin, id)
            #expect(woken["state"] == "ready" && woken["containerId"]?.stringValue == containerId, "\(woken)")
            #expect(woken["supervisor"]?["bootId"]?.stringValue == bootId, "the same supervisor process, not a restart")
            #expect(woken["pausedAt"] == nil || woken["pausedAt"] == .null)
            #expect(try await docker.inspectContainer(containerId).state.paused == false)
            var unpauses = 0
            for try await element in try await docker.events(filters: ["container": [containerId], "event": ["unpause"]], since: since,
                                                             until: Date().addingTimeInterval(1)) {
                if case .event = element { unpauses += 1 }
            }
            #expect(unpauses == 1, "two wakes at once, one unpause")
            #expect(services.containers.activity.unpauses(id) == 1, "the second wake found it awake and sent none")
            #expect(try await Self.states(services, id).suffix(3) == ["ready", "paused", "ready"])
            _ = try await services.health.sample()
            #expect(try await api.get("/api/personas/\(id)/alerts?status=open", token: admin).data == [])
        }
    }

    @Test("a running tool call keeps a persona awake; start wakes a paused one, stop thaws it first; past the stop period it is stopped (files kept, desired state running) and the next tool call starts it again")
    func stopAfterIdle() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite, configure: Self.seconds) { api, services in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin)
            let first = try #require(try await ContainerTests.start(api, admin, id)["containerId"]?.stringValue)
            let written = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "echo kept > notes.txt"]])
            #expect(written.data?["status"] == "succeeded", "\(written.body)")
            let instance = try await services.containers.instanceId()
            func containers() async throws -> [Docker.ContainerSummary] {
                try await docker.listContainers(all: true, filters: Docker.Filters.label("io.persona.instance", instance).label("io.persona.persona-id", id))
            }

            // Pause after 2 s; an 8-s call holds it awake throughout: sweeps while it runs never
            // pause it, and once the idle period has passed they say why (the call may start a
            // little late on a loaded machine, so the sweeps go on until then).
            try await Self.settings(api, admin, idle: 2, stop: 0)
            let long = Task { try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "sleep 8; echo done"]]) }
            try await Task.sleep(for: .seconds(1))
            var during = await IdleSweeper(manager: services.containers).sweep()
            let sweepsEnd = ContinuousClock.now + .seconds(7)
            while during.keptAwake[id] == nil, ContinuousClock.now < sweepsEnd {
                try await Task.sleep(for: .milliseconds(500))
                during = await IdleSweeper(manager: services.containers).sweep()
                #expect(!during.paused.contains(id), "paused during a running call: \(during)")
            }
            #expect(during.keptAwake[id] == "tool call running", "\(during)")
            #expect(try await Self.status(api, admin, id)["state"] == "ready")
            #expect(try await long.value.data?["output"]?["stdout"] == "done\n")

            // An explicit start wakes a paused persona; an explicit stop thaws it first, so the
            // supervisor exits on its SIGTERM instead of being killed after the 10-s timeout.
            #expect(try await ContainerTests.eventually(20) { try await Self.status(api, admin, id)["state"] == "paused" })
            let started = try await api.post("/api/personas/\(id)/container/start", token: admin)
            #expect(started.status == .ok && started.data?["state"] == "ready", "\(started.body)")
            #expect(try await docker.inspectContainer(first).state.paused == false)
            #expect(try await ContainerTests.eventually(20) { try await Self.status(api, admin, id)["state"] == "paused" })
            let clock = ContinuousClock.now
            let stopped = try await api.post("/api/personas/\(id)/container/stop", token: admin)
            #expect(stopped.data?["state"] == "stopped" && stopped.data?["desiredState"] == "stopped", "\(stopped.body)")
            #expect(ContinuousClock.now - clock < .seconds(8), "not killed after the stop timeout")
            #expect(try await containers().isEmpty)

            // Stopped for idleness after 6 s: the container goes, desired state stays running.
            try await Self.settings(api, admin, idle: 2, stop: 6)
            let back = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "cat notes.txt"]])
            #expect(back.data?["output"]?["stdout"] == "kept\n", "\(back.body)")
            let containerId = try #require(try await Self.status(api, admin, id)["containerId"]?.stringValue)
            #expect(try await ContainerTests.eventually(20) { try await Self.status(api, admin, id)["state"] == "paused" })
            #expect(try await ContainerTests.eventually(30) { try await Self.status(api, admin, id)["state"] == "stopped" })
            try await Self.settings(api, admin, idle: 0, stop: 0)
            let idle = try await Self.status(api, admin, id)
            #expect(idle["desiredState"] == "running", "the next use starts it again: \(idle)")
            #expect(idle["idleStoppedAt"]?.stringValue != nil && (idle["containerId"] == nil || idle["containerId"] == .null), "\(idle)")
            // The state moves first (the claim), then the container is stopped and removed.
            #expect(try await ContainerTests.eventually(15) { try await containers().isEmpty }, "the container is gone")
            #expect(try await Self.states(services, id).suffix(3) == ["ready", "paused", "stopped"])
            let workspace = services.configuration.storagePath + "/personas/\(id)/workspace/notes.txt"
            #expect((try? String(contentsOfFile: workspace, encoding: .utf8)) == "kept\n", "files are kept")

            let again = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "cat notes.txt"]])
            #expect(again.data?["status"] == "succeeded" && again.data?["output"]?["stdout"] == "kept\n", "\(again.body)")
            let restarted = try await Self.status(api, admin, id)
            #expect(restarted["state"] == "ready", "\(restarted)")
            #expect(restarted["containerId"]?.stringValue.map { $0 != containerId } == true, "a new container")
            #expect(restarted["idleStoppedAt"] == nil || restarted["idleStoppedAt"] == .null)
            #expect(restarted["restartCount"] == 0)
        }
    }

    @Test("a run of an agent with tools wakes a paused persona as it starts, and its steps count as activity")
    func runWakes() async throws {
        let llm = ScriptedLLM([.text("Nothing to do.", pieces: 1)])
        try await llm.serve { url in
            try await TestApp.run(.sqlite, configure: {
                Self.seconds(&$0)
                $0.litellmProxyURL = url
                $0.llmTimeoutSeconds = 5
                $0.runWorker.pollInterval = .milliseconds(50)
            }) { api, _ in
                let admin = try await api.login().access
                let id = try await ContainerTests.persona(api, admin)
                _ = try await ContainerTests.start(api, admin, id)
                try await Self.settings(api, admin, idle: 2, stop: 0)
                #expect(try await ContainerTests.eventually(20) { try await Self.status(api, admin, id)["state"] == "paused" })
                try await Self.settings(api, admin, idle: 0, stop: 0)  // nothing else moves it now
                let idleSince = try #require(try await Self.status(api, admin, id)["idleSince"]?.stringValue)

                let agent = try #require(try await api.post("/api/personas/\(id)/agents", token: admin, json: [
                    "name": "Helper", "model": "gpt-4o-mini", "maxSteps": 3, "tools": ["shell"],
                ]).data?["id"]?.stringValue)
                let run = try #require(try await api.post("/api/runs", token: admin, json: ["agentId": .string(agent), "input": "hi"])
                    .data?["id"]?.stringValue)
                #expect(try await ContainerTests.eventually(20) { try await api.get("/api/runs/\(run)", token: admin).data?["status"] == "completed" })
                let after = try await Self.status(api, admin, id)
                #expect(after["state"] == "ready", "\(after)")
                #expect((after["idleSince"]?.stringValue ?? "") > idleSince, "\(after)")
            }
        }
    }

    @Test("on the desktop image an open VNC connection keeps a persona awake, an artifact download and a desktop request wake it from a pause, eager sidecars keep it awake")
    func desktopKeepsAwake() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        // The loop's sweeps stay out of the way: this test sweeps by hand.
        try await TestApp.run(.sqlite, configure: { Self.seconds(&$0); $0.containers.reconcileIntervalSeconds = 3600 }) { api, services in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin)
            try await DesktopContainerTests.useDesktopImage(api, admin, id)
            _ = try await ContainerTests.start(api, admin, id)
            let sweeper = IdleSweeper(manager: services.containers)
            // A desktop tool call brings up Xvfb and x11vnc; the heartbeat reports them.
            let shot = try await ContainerTests.invoke(api, admin, id, "desktop_screenshot", ["arguments": [:]])
            #expect(shot.data?["status"] == "succeeded", "\(shot.body)")
            let shotId = try #require(shot.data?["id"]?.stringValue)
            #expect(try await ContainerTests.eventually(20) {
                try await Self.status(api, admin, id)["supervisor"]?["sidecars"]?.arrayValue?
                    .contains { $0["name"] == "x11vnc" && $0["state"] == "ready" } == true
            })
            let desktop = try #require(try await api.get("/api/personas/\(id)/desktop", token: admin).data)
            let host = try #require(desktop["host"]?.stringValue)
            let port = try #require(desktop["port"]?.intValue)
            let password = try #require(desktop["password"]?.stringValue)

            try await Self.settings(api, admin, idle: 2, stop: 0)
            do {
                let viewer = try VNCHandshake.Connection(host: host, port: port)
                defer { viewer.close() }
                #expect(String(decoding: try viewer.read(12), as: UTF8.self).hasPrefix("RFB "))
                try await Task.sleep(for: .seconds(3))
                let watched = await sweeper.sweep()
                #expect(watched.keptAwake[id] == "VNC session open", "\(watched)")
                #expect(try await Self.status(api, admin, id)["state"] == "ready")
            }
            // The viewer counted as activity; idle again 2 s after it left.
            try await Task.sleep(for: .seconds(3))
            let alone = await sweeper.sweep()
            #expect(alone.paused == [id], "\(alone)")
            #expect(try await Self.status(api, admin, id)["state"] == "paused")

            // An artifact download wakes it (the file comes from the supervisor)...
            let artifact = try await api.get("/api/personas/\(id)/tool-runs/\(shotId)/artifacts/0", token: admin)
            #expect(artifact.status == .ok && (try? PNGImage(artifact.bytes).width) == 1280)
            #expect(try await Self.status(api, admin, id)["state"] == "ready")
            try await Task.sleep(for: .seconds(3))
            #expect(await sweeper.sweep().paused == [id])
            // ...and so does a desktop request.
            let woken = try await api.get("/api/personas/\(id)/desktop", token: admin)
            #expect(woken.status == .ok, "\(woken.body)")
            #expect(try await Self.status(api, admin, id)["state"] == "ready")
            #expect(try VNCHandshake.authenticate(host: host, port: port, password: password).accepted, "the desktop answers after the wake")

            let eager = try await api.put("/api/personas/\(id)/runtime", token: admin, json: ["eagerSidecars": ["desktop"]])
            #expect(eager.status == .ok, "\(eager.body)")
            try await Task.sleep(for: .seconds(3))
            let pinned = await sweeper.sweep()
            #expect(pinned.keptAwake[id] == "eager sidecars", "\(pinned)")
            #expect(try await Self.status(api, admin, id)["state"] == "ready")
        }
    }
}
