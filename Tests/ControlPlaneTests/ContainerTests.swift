import AsyncHTTPClient
import ControlPlane
import DockerEngine
import Foundation
import NIOCore
import PersonaKit
import SQLKit
import Testing
import TestSupport
import PersonaStorage

/// Persona containers on the real Docker engine, from the real persona image (`scripts/test`
/// starts the engine and builds the image; these tests fail, never skip, without them).
@Suite("Persona containers", .serialized)
struct ContainerTests {
    static func engine() async throws -> Docker.Client {
        do {
            return try await Docker.Client.connect(to: try Docker.Endpoint.fromEnvironment())
        } catch {
            Issue.record("No Docker engine answers (\(error)): run the tests with scripts/test, which starts one and builds the persona image")
            throw error
        }
    }

    static func persona(_ api: APIClient, _ token: String, name: String = "Box") async throws -> String {
        try #require(try await api.post("/api/personas", token: token, json: ["name": .string(name)]).data?["id"]?.stringValue)
    }

    static func start(_ api: APIClient, _ token: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let started = try await api.post("/api/personas/\(id)/container/start?wait=60", token: token, sourceLocation: sourceLocation)
        #expect(started.status == .ok, "\(started.body)", sourceLocation: sourceLocation)
        #expect(started.data?["state"] == "ready", "\(started.body)", sourceLocation: sourceLocation)
        return try #require(started.data, sourceLocation: sourceLocation)
    }

    static func invoke(_ api: APIClient, _ token: String, _ id: String, _ tool: String, _ body: JSONValue,
                       sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIResponse {
        try await api.post("/api/personas/\(id)/tools/\(tool)/invoke", token: token, json: body, sourceLocation: sourceLocation)
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    static func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    @Test("start provisions a hardened, labelled container that registers; shell runs as uid 1000; stop keeps the workspace; delete removes everything",
          arguments: TestBackend.allCases)
    func lifecycle(backend: TestBackend) async throws {
        let docker = try await Self.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let id = try await Self.persona(api, admin)
            let secret = "sk-container-\(UUID().uuidString)"
            #expect(try await api.put("/api/personas/\(id)/secrets/API_KEY", token: admin, json: ["value": .string(secret)]).status == .created)
            let before = try await api.get("/api/personas/\(id)/container", token: admin)
            #expect(before.status == .ok)
            #expect(before.data?["state"] == "stopped")

            let started = try await Self.start(api, admin, id)
            let containerId = try #require(started["containerId"]?.stringValue)
            #expect(started["supervisor"]?["bootId"]?.stringValue?.isEmpty == false)

            // What the engine was told: labels, limits, hardening, mounts, no ports, no secrets.
            let inspect = try await docker.inspectContainer(containerId)
            let labels = inspect.config.labels ?? [:]
            #expect(labels["io.persona.persona-id"] == id)
            #expect(labels["io.persona.managed-by"] == "persona-control-plane")
            #expect(labels["io.persona.owner-id"]?.isEmpty == false)
            #expect(labels["io.persona.instance"]?.isEmpty == false)
            let host = try #require(inspect.hostConfig)
            #expect(host.memory == 2048 << 20)
            #expect(host.cpuShares == 512)
            #expect(host.nanoCpus == 1_000_000_000)
            #expect(host.pidsLimit == 512)
            #expect(host.capDrop == ["ALL"])
            #expect(Set(host.capAdd ?? []) == ["SETUID", "SETGID", "KILL"])
            #expect(host.securityOpt?.contains("no-new-privileges:true") == true)
            #expect(host.readonlyRootfs == true)
            #expect(host.tmpfs?["/tmp"] != nil)
            #expect((host.portBindings ?? [:]).isEmpty)
            let binds = host.binds ?? []
            #expect(binds.contains { $0.hasSuffix("/personas/\(id)/workspace:/workspace") })
            #expect(binds.contains { $0.hasSuffix("/personas/\(id)/cache:/cache") })
            #expect(binds.contains { $0.hasSuffix(":/run/persona-cp:ro") })
            let env = (inspect.config.env ?? []).joined(separator: "\n")
            let tokenPath = services.configuration.containers.runDirectory + "/\(id)/token"
            let token = try String(contentsOfFile: tokenPath, encoding: .utf8)
            #expect(!env.contains(secret))
            #expect(!env.contains(token))
            var info = stat()
            #expect(stat(tokenPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            #expect(info.st_uid == 0)

            // The catalog the supervisor reported.
            let tools = try await api.get("/api/personas/\(id)/tools", token: admin)
            let names = tools.data?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(Set(names).isSuperset(of: ["shell", "read_file", "write_file", "list_files", "http_fetch"]), "\(tools.body)")

            // A shell call through the API, recorded as a tool run.
            let run = try await Self.invoke(api, admin, id, "shell", ["arguments": ["command": "id -u; echo made >> made.txt"]])
            #expect(run.status == .ok, "\(run.body)")
            #expect(run.data?["status"] == "succeeded")
            #expect(run.data?["output"]?["stdout"]?.stringValue?.hasPrefix("1000") == true)
            #expect(run.data?["traceId"]?.stringValue?.count == 32)
            let workspace = services.configuration.storagePath + "/personas/\(id)/workspace"
            #expect((try? String(contentsOfFile: workspace + "/made.txt", encoding: .utf8)) == "made\n")

            // The same idempotency key returns the recorded run; the tool does not run twice.
            let keyed: JSONValue = ["arguments": ["command": "echo once >> once.txt"], "idempotencyKey": "k-1"]
            let first = try await Self.invoke(api, admin, id, "shell", keyed)
            let second = try await Self.invoke(api, admin, id, "shell", keyed)
            #expect(first.data?["id"] == second.data?["id"])
            #expect((try? String(contentsOfFile: workspace + "/once.txt", encoding: .utf8)) == "once\n")
            let conflict = try await Self.invoke(api, admin, id, "shell", ["arguments": ["command": "true"], "idempotencyKey": "k-1"])
            #expect(conflict.status == .conflict)
            #expect(conflict.code == "idempotency_conflict")

            // Bad input: unknown tool, arguments against the schema, arguments not an object.
            let unknown = try await Self.invoke(api, admin, id, "no_such_tool", ["arguments": [:]])
            #expect(unknown.status == .notFound)
            #expect(unknown.code == "unknown_tool")
            let invalid = try await Self.invoke(api, admin, id, "shell", ["arguments": ["cmd": "true"]])
            #expect(invalid.status == .badRequest)
            #expect(invalid.code == "validation_failed")
            #expect(try await Self.invoke(api, admin, id, "shell", ["arguments": "ls"]).status == .badRequest)
            #expect(try await Self.invoke(api, admin, id, "shell", ["arguments": [:], "extra": 1]).status == .badRequest)

            // Turning a tool off.
            let off = try await api.patch("/api/personas/\(id)/tools/shell", token: admin, json: ["enabled": false])
            #expect(off.data?["enabled"] == false)
            #expect(try await Self.invoke(api, admin, id, "shell", ["arguments": ["command": "true"]]).code == "tool_disabled")
            #expect(try await api.patch("/api/personas/\(id)/tools/shell", token: admin, json: ["enabled": true]).status == .ok)

            // Tool runs are listed, newest first; the failed validation is among them.
            let runs = try await api.get("/api/personas/\(id)/tool-runs", token: admin)
            let statuses = runs.data?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []
            #expect(statuses.filter { $0 == "succeeded" }.count == 2)
            #expect(statuses.contains("failed"))
            let one = try await api.get("/api/personas/\(id)/tool-runs/\(try #require(run.data?["id"]?.stringValue))", token: admin)
            #expect(one.data?["tool"] == "shell")

            // Registration and secret delivery are audited; values never are.
            let audit = try await api.get("/api/audit?personaId=\(id)", token: admin)
            let types = audit.data?.arrayValue?.compactMap { $0["eventType"]?.stringValue } ?? []
            #expect(types.contains("container.registered"))
            #expect(types.contains("secret.delivered"))
            #expect(audit.body.contains("API_KEY"))
            #expect(!audit.body.contains(secret))

            // Start again: idempotent, same container.
            let again = try await api.post("/api/personas/\(id)/container/start", token: admin)
            #expect(again.data?["containerId"]?.stringValue == containerId)

            // Stop: the container goes, the workspace stays; a new start sees the file.
            let stopped = try await api.post("/api/personas/\(id)/container/stop", token: admin)
            #expect(stopped.status == .ok)
            #expect(stopped.data?["state"] == "stopped")
            await #expect(throws: DockerError.self) { _ = try await docker.inspectContainer(containerId) }
            #expect(FileManager.default.fileExists(atPath: workspace + "/made.txt"))
            let restarted = try await Self.start(api, admin, id)
            #expect(restarted["containerId"]?.stringValue != containerId)
            let read = try await Self.invoke(api, admin, id, "read_file", ["arguments": ["path": "made.txt"]])
            #expect(read.data?["output"]?["content"] == "made\n", "\(read.body)")

            // Delete: container and directories go.
            let newId = try #require(restarted["containerId"]?.stringValue)
            #expect(try await api.delete("/api/personas/\(id)", token: admin).status == .noContent)
            await #expect(throws: DockerError.self) { _ = try await docker.inspectContainer(newId) }
            #expect(!FileManager.default.fileExists(atPath: services.configuration.storagePath + "/personas/\(id)"))
            #expect(!FileManager.default.fileExists(atPath: services.configuration.containers.runDirectory + "/\(id)"))
        }
    }

    @Test("viewers see status but cannot start, stop or invoke; strangers get 404")
    func permissions() async throws {
        try await TestApp.run(.sqlite) { api, _ in
            let admin = try await api.login().access
            let viewer = try await api.makeUser("viewer@example.com", adminToken: admin)
            let stranger = try await api.makeUser("stranger@example.com", adminToken: admin)
            let id = try await Self.persona(api, admin)
            #expect(try await api.post("/api/personas/\(id)/members", token: admin, json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            #expect(try await api.get("/api/personas/\(id)/container", token: viewer.token).status == .ok)
            #expect(try await api.post("/api/personas/\(id)/container/start", token: viewer.token).status == .forbidden)
            #expect(try await api.post("/api/personas/\(id)/container/stop", token: viewer.token).status == .forbidden)
            #expect(try await Self.invoke(api, viewer.token, id, "shell", ["arguments": ["command": "true"]]).status == .forbidden)
            #expect(try await api.get("/api/personas/\(id)/container", token: stranger.token).status == .notFound)
            #expect(try await api.post("/api/personas/\(id)/container/start?wait=abc", token: admin).status == .badRequest)
            #expect(try await api.post("/api/personas/\(id)/container/start?wait=9999", token: admin).status == .badRequest)
        }
    }

    @Test("an unreachable engine gives clear 503s and writes nothing")
    func engineUnreachable() async throws {
        try await TestApp.run(.sqlite, configure: { $0.containers.dockerEndpoint = .unixSocket(path: "/tmp/no-such-engine-\(UUID().uuidString).sock") }) { api, services in
            let admin = try await api.login().access
            let id = try await Self.persona(api, admin)
            let start = try await api.post("/api/personas/\(id)/container/start", token: admin)
            #expect(start.status == .serviceUnavailable)
            #expect(start.code == "engine_unavailable")
            #expect(start.json?["traceId"]?.stringValue?.count == 32)
            let invoke = try await Self.invoke(api, admin, id, "shell", ["arguments": ["command": "true"]])
            #expect(invoke.status == .serviceUnavailable)
            #expect(try await api.get("/api/personas/\(id)/container", token: admin).data?["state"] == "stopped")
            let rows = try await services.database.withConnection { try await $0.select().column("persona_id").from("persona_containers").all() }
            #expect(rows.isEmpty)
            // Deleting the persona still works (the reconciler removes containers once the engine is back).
            #expect(try await api.delete("/api/personas/\(id)", token: admin).status == .noContent)
        }
    }

    @Test("the internal API takes only container tokens, over the mounted socket")
    func internalAPI() async throws {
        try await TestApp.run(.sqlite) { api, services in
            let admin = try await api.login().access
            let id = try await Self.persona(api, admin)
            _ = try await api.put("/api/personas/\(id)/secrets/API_KEY", token: admin, json: ["value": "v-1"])
            _ = try await Self.start(api, admin, id)
            let token = try String(contentsOfFile: services.configuration.containers.runDirectory + "/\(id)/token", encoding: .utf8)
            let socket = services.configuration.containers.controlSocketDirectory + "/control.sock"
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            func get(_ path: String, token: String?) async throws -> (Int, String) {
                var request = HTTPClientRequest(url: URL(httpURLWithSocketPath: socket, uri: path)!.absoluteString)
                request.headers.add(name: "Host", value: "localhost")
                if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                let response = try await http.execute(request, timeout: .seconds(10))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            do {
                let (ok, body) = try await get(SupervisorRoutes.secrets, token: token)
                #expect(ok == 200)
                #expect(try JSONDecoder().decode(SecretsResponse.self, from: Data(body.utf8)).secrets == ["API_KEY": "v-1"])
                let (none, noneBody) = try await get(SupervisorRoutes.secrets, token: nil)
                #expect(none == 401)
                #expect(noneBody.contains("\"code\""))
                #expect(try await get(SupervisorRoutes.secrets, token: String(repeating: "0", count: 64)).0 == 401)
                // A user's access token is not a container token.
                #expect(try await get(SupervisorRoutes.secrets, token: admin).0 == 401)
                // The internal API is not on the public router.
                #expect(try await api.get(SupervisorRoutes.secrets, token: admin).status == .notFound)
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    /// The IPv4 address of `docker0` (containers on the default bridge reach the host there).
    static func bridgeAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard String(cString: entry.pointee.ifa_name) == "docker0", let address = entry.pointee.ifa_addr,
                  address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            return String(cString: host)
        }
        return nil
    }

    @Test("the TCP control channel (remote engines): supervisor published on loopback only, internal API over TCP")
    func tcpChannel() async throws {
        let docker = try await Self.engine()
        defer { Task { try? await docker.shutdown() } }
        let gateway = try #require(Self.bridgeAddress(), "docker0 has no IPv4 address")
        let port = Int.random(in: 47000..<48999)
        try await TestApp.run(.sqlite, configure: {
            $0.containers.controlChannel = .tcp(publishHost: "127.0.0.1", supervisorHost: "127.0.0.1", internalHost: gateway,
                                     internalPort: port, controlPlaneURL: "http://\(gateway):\(port)")
        }) { api, _ in
            let admin = try await api.login().access
            let id = try await Self.persona(api, admin)
            let started = try await Self.start(api, admin, id)
            let published = try #require(started["hostPorts"]?["supervisor"]?.stringValue)
            #expect(published.hasPrefix("127.0.0.1:"))
            let inspect = try await docker.inspectContainer(try #require(started["containerId"]?.stringValue))
            #expect(inspect.hostConfig?.portBindings?["7070/tcp"]?.allSatisfy { $0.hostIP == "127.0.0.1" } == true)
            #expect(!(inspect.hostConfig?.binds ?? []).contains { $0.contains("/run/persona-cp") })
            let run = try await Self.invoke(api, admin, id, "shell", ["arguments": ["command": "echo over tcp"]])
            #expect(run.data?["output"]?["stdout"] == "over tcp\n", "\(run.body)")
        }
    }

}
