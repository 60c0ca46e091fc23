import AsyncHTTPClient
import Foundation
import LLM
import PersonaKit
import Testing
import TestSupport
import TestTraits

/// compose/docker-compose.yml up for real: the control-plane and PostgreSQL images
/// scripts/build-images builds, the persona image the control plane starts, and the scripted
/// LLM on the Docker bridge's gateway in LiteLLM's place (docker-compose.host-llm.yml).
extension ComposeTests {
    /// A compose project of its own, with host directories under a short /tmp path (the unix
    /// sockets under the run and control-socket directories must fit 108 bytes).
    struct Stack {
        let project = "pctest" + String(UUID().uuidString.prefix(8)).lowercased()
        let root = "/tmp/pcc-" + String(UUID().uuidString.prefix(8)).lowercased()
        let port = ServerProcessTests.freePort()
        var environment: [String: String] = [:]
        let files = ["-f", "docker-compose.yml", "-f", "docker-compose.host-llm.yml"]

        func compose(_ test: ComposeTests, _ arguments: [String]) async throws -> (Int32, String) {
            try await test.run("/usr/bin/docker-compose", ["-p", project] + files + arguments, environment: environment)
        }

        func docker(_ test: ComposeTests, _ arguments: [String]) async throws -> String {
            let (status, output) = try await test.run("/usr/bin/docker", arguments, environment: environment)
            guard status == 0 else { throw ComposeError("docker \(arguments.joined(separator: " ")): \(output)") }
            return output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Every container, network and volume of the project, and every container that mounts
        /// one of its host directories (persona containers the control plane started).
        func leftovers(_ test: ComposeTests) async throws -> [String] {
            let label = "label=com.docker.compose.project=\(project)"
            var found = try await docker(test, ["ps", "-aq", "--filter", label]).split(separator: "\n").map { "container \($0)" }
            found += try await docker(test, ["network", "ls", "-q", "--filter", label]).split(separator: "\n").map { "network \($0)" }
            found += try await docker(test, ["volume", "ls", "-q", "--filter", label]).split(separator: "\n").map { "volume \($0)" }
            let all = try await docker(test, ["ps", "-aq"]).split(separator: "\n").map(String.init)
            if !all.isEmpty {
                // Not `docker(...)`: a container another test removes between the two calls makes
                // inspect fail for it alone, and the others' lines are still printed.
                let (_, mounts) = try await test.run("/usr/bin/docker", ["inspect", "-f", "{{.Id}} {{range .Mounts}}{{.Source}} {{end}}"] + all,
                                                     environment: environment)
                found += mounts.split(separator: "\n").filter { $0.contains(" \(root)/") }.map { "container mounting \(root): \($0.prefix(12))" }
            }
            return found
        }

        /// Removes what `leftovers` finds, whatever state the test left.
        func tearDown(_ test: ComposeTests) async {
            if let mounts = try? await docker(test, ["ps", "-aq"]), !mounts.isEmpty,
               let lines = try? await docker(test, ["inspect", "-f", "{{.Id}} {{range .Mounts}}{{.Source}} {{end}}"] + mounts.split(separator: "\n").map(String.init)) {
                for line in lines.split(separator: "\n") where line.contains(" \(root)/") {
                    _ = try? await docker(test, ["rm", "-f", "-v", String(line.prefix(64))])
                }
            }
            _ = try? await compose(test, ["down", "-v", "--remove-orphans", "--timeout", "10"])
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    static let deploymentImages = [
        ProcessInfo.processInfo.environment["PERSONA_CONTROL_PLANE_IMAGE"] ?? "persona-platform/control-plane:latest",
        ProcessInfo.processInfo.environment["PERSONA_POSTGRES_IMAGE"] ?? "persona-platform/postgres-pgvector:16",
        ProcessInfo.processInfo.environment["PERSONA_IMAGE"] ?? "persona-platform/persona:latest",
    ]

    @Test("docker-compose up brings up PostgreSQL and the control plane from the local images; the admin logs in, starts a persona, runs a shell tool and an agent run through the scripted LLM, backs up with the image's pg_dump; down -v leaves nothing behind")
    func stackUpAndDown() async throws {
        if ProcessInfo.processInfo.environment["PERSONA_SKIP_DEPLOYMENT_IMAGES"] == "1" {
            print("ComposeTests: stack test skipped: PERSONA_SKIP_DEPLOYMENT_IMAGES=1 (scripts/build-images did not build the control-plane and PostgreSQL images)")
            return
        }
        var stack = Stack()
        var environment = Self.required
        environment["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
        environment["DOCKER_HOST"] = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
        environment["HOME"] = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        environment["PERSONA_ADMIN_EMAIL"] = TestApp.adminEmail
        environment["STORAGE_PATH"] = stack.root + "/s"
        environment["PERSONA_RUN_DIR"] = stack.root + "/r"
        environment["PERSONA_CONTROL_SOCKET_DIR"] = stack.root + "/c"
        environment["PERSONA_HTTP_PORT"] = String(stack.port)
        let images = Self.deploymentImages
        environment["PERSONA_CONTROL_PLANE_IMAGE"] = images[0]
        environment["PERSONA_POSTGRES_IMAGE"] = images[1]
        environment["PERSONA_IMAGE"] = images[2]
        stack.environment = environment
        for image in images {
            let missing = (try? await stack.docker(self, ["image", "inspect", "-f", "{{.Id}}", image])) == nil
            try #require(!missing, "image \(image) is missing: run scripts/build-images (PERSONA_SKIP_DEPLOYMENT_IMAGES=1 skips this test)")
        }
        // host-gateway is the default bridge's gateway (docker0); the scripted LLM listens there.
        let gateway = try await stack.docker(self, ["network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}"])
        for directory in ["s", "r", "c"] {
            try FileManager.default.createDirectory(atPath: "\(stack.root)/\(directory)", withIntermediateDirectories: true)
        }
        let shell = Chat.ToolCall(id: "c1", name: "shell", arguments: #"{"command":"cat compose.txt"}"#)
        let llm = ScriptedLLM([.toolCalls([shell]), .text("The file says deployed.")])
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let prepared = stack
        do {
            try await llm.serve(host: gateway) { url in
                var stack = prepared
                stack.environment["HOST_LLM_URL"] = url.replacingOccurrences(of: gateway, with: "host.docker.internal")
                try await exercise(stack, http: http, llm: llm)
            }
        } catch {
            await stack.tearDown(self)
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    /// Up, the API walk-through, down, and the check that nothing is left.
    func exercise(_ stack: Stack, http: HTTPClient, llm: ScriptedLLM) async throws {
        let (upStatus, upOutput) = try await stack.compose(self, ["up", "-d", "control-plane"])
        try #require(upStatus == 0, "docker-compose up: \(upOutput)")
        let api = RemoteAPIClient(baseURL: "http://127.0.0.1:\(stack.port)", http: http)
        do {
            try await walkThrough(api, stack)
        } catch {
            let (_, logs) = try await stack.compose(self, ["logs", "--no-color", "--tail", "40", "control-plane"])
            Issue.record("control plane's last log lines:\n\(logs)")
            throw error
        }
        let run = try #require(await llm.requests.last)
        let toolResults = run["messages"]?.arrayValue?.filter { $0["role"] == "tool" }.compactMap { $0["content"]?.stringValue } ?? []
        #expect(toolResults.first?.contains("deployed") == true, "\(toolResults)")
        #expect(await llm.requests.count == 2)

        let (downStatus, downOutput) = try await stack.compose(self, ["down", "-v", "--remove-orphans"])
        #expect(downStatus == 0, "docker-compose down: \(downOutput)")
        #expect(try await stack.leftovers(self) == [])
        await stack.tearDown(self)
    }

    func walkThrough(_ api: RemoteAPIClient, _ stack: Stack) async throws {
        var ready: APIResponse?
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let response = try? await api.get("/readyz"), response.status == .ok {
                ready = response
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let readiness = try #require(ready, "the control plane did not answer /readyz within 120 s")
        #expect(readiness.json?["database"] == "postgres")
        #expect(readiness.json?["embedder"] == "all-MiniLM-L6-v2", "the image's MiniLM weights: \(readiness.body)")

        let password = try #require(Self.required["PERSONA_ADMIN_PASSWORD"])
        let login = try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": .string(password)])
        let admin = try #require(login.data?["accessToken"]?.stringValue, "\(login.body)")
        let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Deployed"]).data?["id"]?.stringValue)
        let started = try await api.post("/api/personas/\(persona)/container/start?wait=60", token: admin)
        #expect(started.data?["state"] == "ready", "\(started.body)")

        let invoked = try await api.post("/api/personas/\(persona)/tools/shell/invoke", token: admin,
                                         json: ["arguments": ["command": "echo deployed > compose.txt; cat compose.txt; id -u"]])
        #expect(invoked.data?["status"] == "succeeded", "\(invoked.body)")
        #expect(invoked.data?["output"]?["stdout"] == "deployed\n1000\n")
        // The workspace is the host directory under STORAGE_PATH the engine mounted.
        let workspace = "\(stack.root)/s/personas/\(persona)/workspace/compose.txt"
        #expect((try? String(contentsOfFile: workspace, encoding: .utf8)) == "deployed\n")

        let agent = try await api.post("/api/personas/\(persona)/agents", token: admin, json: [
            "name": "Deployer", "model": "gpt-4o-mini", "maxSteps": 4, "tools": ["shell"],
        ])
        let agentId = try #require(agent.data?["id"]?.stringValue, "\(agent.body)")
        let created = try await api.post("/api/runs", token: admin, json: ["agentId": .string(agentId), "input": "What does compose.txt say?"])
        let run = try #require(created.data?["id"]?.stringValue, "\(created.body)")
        var finished: APIResponse?
        for _ in 0..<240 {
            let response = try await api.get("/api/runs/\(run)", token: admin)
            if let status = response.data?["status"]?.stringValue, ["completed", "failed", "cancelled"].contains(status) {
                finished = response
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let done = try #require(finished, "run \(run) did not end within 60 s")
        #expect(done.data?["status"] == "completed", "\(done.body)")
        #expect(done.data?["output"] == "The file says deployed.")

        // The image's pg_dump is PostgreSQL 16's: a backup from inside the container works
        // against the 16 server (Debian's pg_dump 15 would refuse).
        let (backupStatus, backup) = try await stack.compose(self, ["exec", "-T", "control-plane", "persona-control-plane", "backup", "--to", "/tmp/backup"])
        #expect(backupStatus == 0, "\(backup)")
        #expect(backup.contains("backup /tmp/backup: postgres database"), "\(backup)")

        // The image's health check (curl on /readyz) reports the container healthy.
        let container = try await stack.compose(self, ["ps", "-q", "control-plane"]).1.trimmingCharacters(in: .whitespacesAndNewlines)
        var health = ""
        for _ in 0..<60 where health != "healthy" {
            health = try await stack.docker(self, ["inspect", "-f", "{{.State.Health.Status}}", container])
            if health != "healthy" { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(health == "healthy")

        // The persona's container goes with the persona; compose knows nothing of it.
        #expect(try await api.delete("/api/personas/\(persona)", token: admin).status == .noContent)
        #expect(try await stack.docker(self, ["ps", "-aq", "--filter", "label=io.persona.persona-id=\(persona)"]) == "")
    }
}
