import DockerEngine
import Foundation
import PersonaKit
import Testing
@testable import Supervisor

/// The persona image on the real engine, with the hardening DESIGN.md pins. These tests
/// fail (never skip) when the engine or the image is missing: `scripts/test` provides both.
@Suite("Persona container on the real Docker engine", .serialized)
struct PersonaContainerTests {
    static let image = ProcessInfo.processInfo.environment["PERSONA_IMAGE"] ?? "persona-platform/persona:latest"

    /// A started persona container with workspace, cache and run directory bind-mounted from
    /// a host directory, a 0600 token file, and a fake control plane in a mounted directory.
    struct Persona {
        var id: String
        var root: String
        var token: String
        var controlPlane: FakeControlPlane
        var socket: String { root + "/run/supervisor.sock" }

        func invoke(_ tool: String, _ request: InvocationRequest) async throws -> InvocationResult {
            let response = try await SimpleHTTPClient().send(
                .unixSocket(socket), method: .POST, path: "/v1/tools/\(tool)/invocations",
                headers: [("Authorization", "Bearer \(token)")], body: Array(try JSONEncoder().encode(request)), timeout: .seconds(30))
            guard response.status == 200 else { throw SupervisorError("test", "HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))") }
            return try SupervisorJSON.decoder.decode(InvocationResult.self, from: Data(response.body))
        }
    }

    static func withPersona(secrets: [String: String] = [:], _ body: (Docker.Client, Persona) async throws -> Void) async throws {
        let endpoint = try Docker.Endpoint.fromEnvironment()
        let client: Docker.Client
        do { client = try await Docker.Client.connect(to: endpoint) } catch {
            Issue.record("No Docker engine answers at \(endpoint) (\(error)); run scripts/test (it starts the engine and builds \(image)).")
            throw error
        }
        do {
            do { _ = try await client.inspectImage(image) } catch {
                Issue.record("The persona image \(image) is missing (\(error)); run scripts/test or scripts/build-images.")
                throw error
            }
            let root = "/tmp/pi-\(UUID().uuidString.prefix(8))"
            for dir in ["workspace", "cache", "run", "cp"] {
                try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
            }
            chown(root + "/workspace", 1000, 1000)
            chmod(root + "/cache", 0o700)
            chmod(root + "/run", 0o755)
            let token = TraceContext.randomHex(bytes: 32)
            FileManager.default.createFile(atPath: root + "/run/token", contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
            let controlPlane = FakeControlPlane(socketPath: root + "/cp/control.sock", secrets: secrets)
            try await controlPlane.start()
            var created: String?
            do {
                let spec = Docker.ContainerSpec(
                    image: image,
                    environment: ["PERSONA_ID": "test-persona", "PERSONA_CONTROL_PLANE_SOCKET": "/run/persona-cp/control.sock",
                                  "PERSONA_HEARTBEAT_SECONDS": "1"],
                    labels: ["io.persona.test": "1", "io.persona.persona-id": "test-persona"],
                    stopTimeout: 10,
                    host: Docker.HostConfig(
                        binds: ["\(root)/workspace:/workspace", "\(root)/cache:/cache", "\(root)/run:/run/persona", "\(root)/cp:/run/persona-cp"],
                        memory: 512 << 20, pidsLimit: 512, securityOpt: ["no-new-privileges:true"],
                        capAdd: ["SETUID", "SETGID", "KILL"], capDrop: ["ALL"], readonlyRootfs: true,
                        tmpfs: ["/tmp": "size=64m,mode=1777"]))
                let id = try await client.createContainer(spec).id
                created = id
                _ = try await client.startContainer(id)
                let persona = Persona(id: id, root: root, token: token, controlPlane: controlPlane)
                var ready = false
                for _ in 0..<200 where !ready {
                    if let response = try? await SimpleHTTPClient().send(
                        .unixSocket(persona.socket), method: .GET, path: "/health", headers: [("Authorization", "Bearer \(token)")],
                        timeout: .seconds(2)), response.status == 200 {
                        ready = true
                    } else {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                if !ready {
                    let logs = try? await client.exec(["cat", "/proc/1/cmdline"], in: id)
                    Issue.record("supervisor did not answer on \(persona.socket) within 10 s (\(String(describing: logs)))")
                }
                try #require(ready)
                try await body(client, persona)
            } catch {
                if let created { try? await client.removeContainer(created, force: true, volumes: true) }
                controlPlane.stop()
                Fixtures.remove(root)
                throw error
            }
            if let created { try? await client.removeContainer(created, force: true, volumes: true) }
            controlPlane.stop()
            Fixtures.remove(root)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test("shell runs as uid 1000 without capabilities while the supervisor is PID 1")
    func shellAsToolUser() async throws {
        try await Self.withPersona { client, persona in
            let result = try await persona.invoke("shell", InvocationRequest(arguments: [
                "command": "id -u; id -g; grep CapEff /proc/self/status; cat /proc/1/comm; pwd; touch made-by-tool",
            ]))
            #expect(result.status == .succeeded, "\(result)")
            let lines = (result.output["stdout"]?.stringValue ?? "").split(separator: "\n").map(String.init)
            #expect(lines.count == 5)
            #expect(lines.first == "1000")
            #expect(lines.dropFirst().first == "1000")
            #expect(lines.dropFirst(2).first?.hasSuffix("0000000000000000") == true)
            #expect(lines.dropFirst(3).first == "persona-supervi")
            #expect(lines.last == "/workspace")
            var info = stat()
            #expect(stat(persona.root + "/workspace/made-by-tool", &info) == 0)
            #expect(info.st_uid == 1000)
        }
    }

    @Test("registration reaches the control plane over the mounted socket; secrets never appear in docker inspect")
    func registersAndKeepsSecretsOutOfEnv() async throws {
        let secret = "s3cret-\(UUID().uuidString)"
        try await Self.withPersona(secrets: ["API_KEY": secret]) { client, persona in
            let registered = await Fixtures.eventually(10) {
                persona.controlPlane.requests.contains { $0.path == SupervisorRoutes.register }
            }
            #expect(registered)
            // The supervisor fetches secrets beside registering, not after it: wait for that too.
            #expect(await Fixtures.eventually(10) { persona.controlPlane.requests.contains { $0.path == SupervisorRoutes.secrets } })
            let inspect = try await client.inspectContainer(persona.id)
            let env = inspect.config.env ?? []
            #expect(!env.contains { $0.contains(secret) || $0.contains(persona.token) })
            // The shell tool declares no secrets, so it must not see one.
            let result = try await persona.invoke("shell", InvocationRequest(arguments: ["command": "env"]))
            let seen = result.output["stdout"]?.stringValue ?? ""
            #expect(!seen.contains(secret))
        }
    }

    @Test("many tool runs leave no zombies; docker exec status answers; docker stop exits fast with 0")
    func noZombiesStatusAndStop() async throws {
        try await Self.withPersona { client, persona in
            for _ in 0..<30 {
                let result = try await persona.invoke("shell", InvocationRequest(arguments: ["command": "(sleep 5 &); (true &); echo ok"]))
                #expect(result.status == .succeeded)
            }
            var zombies = ""
            for _ in 0..<50 {
                let exec = try await client.exec(
                    ["sh", "-c", "grep -s '^State:' /proc/[0-9]*/status | grep -c zombie || true"], in: persona.id)
                zombies = exec.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                if zombies == "0" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(zombies == "0")

            let status = try await client.exec(["persona-supervisor", "status"], in: persona.id)
            #expect(status.exitCode == 0, "\(status.stderr)")
            #expect(status.stdout.contains("health:      ok"))
            #expect(status.stdout.contains("recent invocations:"))
            #expect(status.stdout.contains("shell"))
            let quiet = try await client.exec(["persona-supervisor", "status", "--quiet"], in: persona.id)
            #expect(quiet.exitCode == 0)
            #expect(quiet.stdout.isEmpty)

            // A tool still running when the stop arrives.
            async let running = persona.invoke("shell", InvocationRequest(arguments: ["command": "sleep 60"]))
            try await Task.sleep(for: .milliseconds(200))
            let started = ContinuousClock.now
            _ = try await client.stopContainer(persona.id, timeout: .seconds(10))
            let elapsed = ContinuousClock.now - started
            _ = try? await running
            let state = try await client.inspectContainer(persona.id).state
            #expect(!state.running)
            #expect(state.exitCode == 0)
            #expect(elapsed < .seconds(5), "docker stop took \(elapsed)")
        }
    }
}
