import ControlPlane
import DockerEngine
import Foundation
import PersonaKit
import Testing
import TestSupport
import TestTraits
import Containers

extension ContainerTests {
    /// The reconciler against the real engine: crashes, operators' stops and removals,
    /// orphans, stale heartbeats, the engine going away. Serialized with the rest of the suite.
    @Suite("Reconciler")
    struct Reconciler {
        @Test("a crashed container is restarted with backoff; a clean docker stop is respected; a removed one is recreated on demand")
        func reconciler() async throws {
            let docker = try await ContainerTests.engine()
            defer { Task { try? await docker.shutdown() } }
            try await TestApp.run(.sqlite) { api, services in
                let admin = try await api.login().access
                let id = try await ContainerTests.persona(api, admin)
                let first = try await ContainerTests.start(api, admin, id)
                let containerId = try #require(first["containerId"]?.stringValue)
                let bootId = first["supervisor"]?["bootId"]

                // SIGKILL: exit 137, a crash. The reconciler restarts the same container.
                try await docker.killContainer(containerId)
                let recovered = try await ContainerTests.eventually(30) {
                    let status = try await api.get("/api/personas/\(id)/container", token: admin).data
                    return status?["state"] == "ready" && status?["supervisor"]?["bootId"] != bootId
                }
                #expect(recovered)
                let status = try await api.get("/api/personas/\(id)/container", token: admin).data
                #expect(status?["restartCount"] == 1)
                #expect(status?["containerId"]?.stringValue == containerId)
                #expect(try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "echo back"]]).data?["status"] == "succeeded")

                // An operator's `docker stop` (exit 0) is respected: the persona is stopped, not restarted.
                _ = try await docker.stopContainer(containerId, timeout: .seconds(10))
                let respected = try await ContainerTests.eventually(15) {
                    try await api.get("/api/personas/\(id)/container", token: admin).data?["desiredState"] == "stopped"
                }
                #expect(respected)
                #expect(try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "stopped")

                // Removed behind our back: noted; a tool call recreates it on demand.
                let second = try await ContainerTests.start(api, admin, id)
                let secondId = try #require(second["containerId"]?.stringValue)
                try await docker.removeContainer(secondId, force: true)
                let noted = try await ContainerTests.eventually(15) {
                    try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "stopped"
                }
                #expect(noted)
                let onDemand = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "echo again"]])
                #expect(onDemand.data?["status"] == "succeeded", "\(onDemand.body)")
                let third = try await api.get("/api/personas/\(id)/container", token: admin).data
                #expect(third?["state"] == "ready")
                #expect(third?["containerId"]?.stringValue != secondId)
                _ = services
            }
        }

        @Test("past the restart limit a crashing persona is failed and its container kept for docker logs; start recovers it")
        func restartLimit() async throws {
            let docker = try await ContainerTests.engine()
            defer { Task { try? await docker.shutdown() } }
            try await TestApp.run(.postgres) { api, _ in
                let admin = try await api.login().access
                #expect(try await api.put("/api/admin/settings", token: admin, json: ["personaRestartMaxAttempts": 0]).status == .ok)
                let id = try await ContainerTests.persona(api, admin)
                let containerId = try #require(try await ContainerTests.start(api, admin, id)["containerId"]?.stringValue)
                try await docker.killContainer(containerId)
                let failed = try await ContainerTests.eventually(15) {
                    try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "failed"
                }
                #expect(failed)
                let status = try await api.get("/api/personas/\(id)/container", token: admin).data
                #expect(status?["exitCode"] == 137)
                #expect(status?["lastError"]?.stringValue?.contains("code 137") == true, "\(String(describing: status))")
                #expect(try await docker.inspectContainer(containerId).state.running == false)
                // A tool call (like an explicit start) provisions a fresh container on demand.
                let invoke = try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "true"]])
                #expect(invoke.data?["status"] == "succeeded", "\(invoke.body)")
                let again = try await api.get("/api/personas/\(id)/container", token: admin).data
                #expect(again?["state"] == "ready")
                #expect(again?["restartCount"] == 0)
            }
        }

        @Test("a supervisor that stops heartbeating makes the persona unhealthy; heartbeats coming back make it ready")
        func staleHeartbeats() async throws {
            let docker = try await ContainerTests.engine()
            defer { Task { try? await docker.shutdown() } }
            try await TestApp.run(.sqlite) { api, _ in
                let admin = try await api.login().access
                let id = try await ContainerTests.persona(api, admin)
                let containerId = try #require(try await ContainerTests.start(api, admin, id)["containerId"]?.stringValue)
                // Frozen: the process is still there, it just answers nothing (heartbeat every 1 s here,
                // unhealthy after 3 missed beats + 5 s).
                try await docker.pauseContainer(containerId)
                let unhealthy = try await ContainerTests.eventually(20) {
                    try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "unhealthy"
                }
                #expect(unhealthy)
                try await docker.unpauseContainer(containerId)
                let ready = try await ContainerTests.eventually(15) {
                    try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "ready"
                }
                #expect(ready)
            }
        }

        @Test("a managed container without a persona is removed by the sweep; other installations' containers are left alone")
        func orphans() async throws {
            let docker = try await ContainerTests.engine()
            defer { Task { try? await docker.shutdown() } }
            try await TestApp.run(.sqlite) { api, services in
                let admin = try await api.login().access
                _ = try await api.get("/api/personas/\(try await ContainerTests.persona(api, admin))/container", token: admin)
                let instance = try await services.database.withConnection { db in
                    try await db.select().column("value").from("platform_state").where("key", .equal, "instance_id").first()?
                        .decode(column: "value", as: String.self)
                }
                let ours = try #require(instance)
                let image = services.configuration.containers.personaImage
                func sleeper(_ labels: [String: String]) async throws -> String {
                    let spec = Docker.ContainerSpec(image: image, entrypoint: ["sleep", "300"], labels: labels.merging(["io.persona.test": "1"]) { $1 })
                    let created = try await docker.createContainer(spec)
                    _ = try await docker.startContainer(created.id)
                    return created.id
                }
                let orphan = try await sleeper(["io.persona.instance": ours, "io.persona.persona-id": Identifier.make(),
                                                "io.persona.managed-by": "persona-control-plane"])
                let foreign = try await sleeper(["io.persona.instance": Identifier.make(), "io.persona.persona-id": Identifier.make(),
                                                 "io.persona.managed-by": "persona-control-plane"])
                let removed = await ContainerTests.eventually(20) { (try? await docker.inspectContainer(orphan)) == nil }
                #expect(removed)
                #expect((try? await docker.inspectContainer(foreign)) != nil)
                try await docker.removeContainer(foreign, force: true)
            }
        }

        @Test("when the engine goes away the API answers 503 and the reconciler waits; when it returns everything recovers", .blocking)
        func engineRecovery() async throws {
            let upstream: String
            switch try Docker.Endpoint.fromEnvironment() {
            case .unixSocket(let path): upstream = path
            default: Issue.record("this test proxies a unix-socket engine"); return
            }
            let proxy = "/tmp/engine-proxy-\(UUID().uuidString.prefix(8)).sock"
            final class Socat: @unchecked Sendable {
                var process: Process?
                let proxy: String, upstream: String
                init(proxy: String, upstream: String) { self.proxy = proxy; self.upstream = upstream }
                func start() throws {
                    unlink(proxy)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
                    process.arguments = ["UNIX-LISTEN:\(proxy),fork", "UNIX-CONNECT:\(upstream)"]
                    try process.run()
                    self.process = process
                    for _ in 0..<100 where access(proxy, F_OK) != 0 { usleep(20_000) }
                }
                func stop() {
                    guard let process else { return }
                    // The whole group: forked children hold the engine's streams open.
                    kill(-process.processIdentifier, SIGKILL)
                    process.terminate()
                    process.waitUntilExit()
                    system("pkill -9 -f 'UNIX-LISTEN:\(proxy)' >/dev/null 2>&1")
                    unlink(proxy)
                    self.process = nil
                }
            }
            let socat = Socat(proxy: proxy, upstream: upstream)
            try socat.start()
            defer { socat.stop() }
            try await TestApp.run(.sqlite, configure: { $0.containers.dockerEndpoint = .unixSocket(path: proxy) }) { api, services in
                let admin = try await api.login().access
                let id = try await ContainerTests.persona(api, admin)
                _ = try await ContainerTests.start(api, admin, id)

                socat.stop()
                let status = try await api.get("/api/personas/\(id)/container", token: admin)
                #expect(status.status == .serviceUnavailable, "\(status.body)")
                #expect(status.code == "engine_unavailable")
                let other = try await ContainerTests.persona(api, admin, name: "Other")
                #expect(try await api.post("/api/personas/\(other)/container/start", token: admin).code == "engine_unavailable")
                // The running persona's supervisor does not need the engine: tools still run.
                #expect(try await ContainerTests.invoke(api, admin, id, "shell", ["arguments": ["command": "true"]]).data?["status"] == "succeeded")

                try socat.start()
                let back = try await ContainerTests.eventually(20) {
                    try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "ready"
                }
                #expect(back)
                #expect(try await api.post("/api/personas/\(other)/container/start?wait=60", token: admin).data?["state"] == "ready")
                _ = services
            }
        }
    }
}
