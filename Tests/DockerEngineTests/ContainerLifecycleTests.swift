import DockerEngine
import Foundation
import Testing

@Suite("container lifecycle against the real engine")
struct ContainerLifecycleTests {
    @Test("a container is created with its settings, starts, logs, execs, reports stats, stops and is removed")
    func lifecycle() async throws {
        try await TestEngine.withClient { client in
            let id = try await TestEngine.withContainer(client, command: TestEngine.chattyIdle) { spec in
                spec.environment = ["PERSONA_MODE": "test"]
                spec.host = Docker.HostConfig(
                    memory: 64 << 20,
                    nanoCpus: 500_000_000,
                    pidsLimit: 64,
                    restartPolicy: .no,
                    securityOpt: ["no-new-privileges:true"],
                    capAdd: ["KILL"],
                    capDrop: ["ALL"],
                    readonlyRootfs: true,
                    tmpfs: ["/tmp": "size=8m"]
                )
            } _: { id in
                #expect(try await client.startContainer(id))
                #expect(try await client.startContainer(id) == false, "a second start is a no-op (304)")

                let inspect = try await client.inspectContainer(id)
                #expect(inspect.state.running)
                #expect(inspect.config.labels?[TestEngine.testLabel] == "1")
                #expect(inspect.config.env?.contains("PERSONA_MODE=test") == true)
                #expect(inspect.hostConfig?.memory == 64 << 20)
                #expect(inspect.hostConfig?.nanoCpus == 500_000_000)
                #expect(inspect.hostConfig?.pidsLimit == 64)
                #expect(inspect.hostConfig?.capDrop == ["ALL"])
                #expect(inspect.hostConfig?.readonlyRootfs == true)
                #expect(inspect.hostConfig?.securityOpt == ["no-new-privileges:true"])

                let logs = try await eventually { try await client.collectLogs(id) } until: { $0.stderr.count > 0 && $0.stdout.count > 0 }
                #expect(logs.stdoutText == "to-stdout\n")
                #expect(logs.stderrText == "to-stderr\n")

                let exec = try await client.exec(["sh", "-c", "echo exec-out; echo exec-err >&2; exit 3"], in: id)
                #expect(exec.exitCode == 3)
                #expect(exec.stdout == "exec-out\n")
                #expect(exec.stderr == "exec-err\n")
                let env = try await client.exec(["sh", "-c", "echo $PERSONA_MODE $EXTRA; id -u"], in: id, environment: ["EXTRA": "x"], user: "65534")
                #expect(env.exitCode == 0)
                #expect(env.stdout == "test x\n65534\n")

                let stats = try await client.stats(id)
                #expect((stats.memoryStats?.usage ?? 0) > 0)
                #expect(stats.memoryStats?.limit == 64 << 20)
                #expect((stats.pidsStats?.current ?? 0) >= 1)

                #expect(try await client.stopContainer(id, timeout: .seconds(5)))
                let stopped = try await client.inspectContainer(id)
                #expect(!stopped.state.running)
                #expect(stopped.state.exitCode == 0, "the trap makes SIGTERM a clean exit")
                return id
            }
            let error = await #expect(throws: DockerError.self) { try await client.inspectContainer(id) }
            #expect(error?.code == .noSuchContainer, "withContainer removed it")
        }
    }

    @Test("streamed stats deliver successive samples with a CPU figure")
    func streamedStats() async throws {
        try await TestEngine.withClient { client in
            try await TestEngine.withContainer(client, command: TestEngine.chattyIdle) { id in
                try await client.startContainer(id)
                var samples: [Docker.ContainerStats] = []
                for try await sample in try await client.streamStats(id) {
                    samples.append(sample)
                    if samples.count == 2 { break }
                }
                #expect(samples.count == 2)
                #expect(samples.last?.cpuPercent != nil)
            }
        }
    }

    @Test("followed logs stream new output and end when the container exits")
    func followLogs() async throws {
        try await TestEngine.withClient { client in
            try await TestEngine.withContainer(client, command: ["sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 0.2; done; echo bye >&2"]) { id in
                try await client.startContainer(id)
                var output = Docker.Output()
                for try await chunk in try await client.logs(id, options: Docker.LogOptions(follow: true)) {
                    switch chunk.stream {
                    case .stderr: output.stderr += chunk.bytes
                    default: output.stdout += chunk.bytes
                    }
                }
                #expect(output.stdoutText == "line-1\nline-2\nline-3\n")
                #expect(output.stderrText == "bye\n")
            }
        }
    }

    @Test("a TTY container's logs come through raw, as stdout")
    func ttyLogs() async throws {
        try await TestEngine.withClient { client in
            try await TestEngine.withContainer(client, command: ["sh", "-c", "echo tty-line"], configure: { $0.tty = true }) { id in
                try await client.startContainer(id)
                _ = try await client.waitContainer(id)
                let logs = try await client.collectLogs(id)
                #expect(logs.stdoutText.contains("tty-line"))
                #expect(logs.stderr.isEmpty)
            }
        }
    }

    @Test("wait registered before start returns the exit code of the next exit")
    func waitForExit() async throws {
        try await TestEngine.withClient { client in
            try await TestEngine.withContainer(client, command: ["sh", "-c", "exit 7"]) { id in
                let wait = try await client.beginWait(id, condition: .nextExit)
                try await client.startContainer(id)
                #expect(try await wait.result().statusCode == 7)
                #expect(try await client.waitContainer(id).statusCode == 7, "not-running returns at once for an exited container")
            }
        }
    }

    @Test("twenty waits on one container all see its exit and do not starve other requests")
    func concurrentWaits() async throws {
        try await TestEngine.withClient { client in
            try await TestEngine.withContainer(client, command: ["sh", "-c", "sleep 0.3; exit 5"]) { id in
                var waits: [Docker.ContainerWait] = []
                for _ in 0..<20 { waits.append(try await client.beginWait(id, condition: .nextExit)) }
                _ = try await client.ping()
                try await client.startContainer(id)
                for wait in waits { #expect(try await wait.result().statusCode == 5) }
            }
        }
    }

    @Test("kill, pause, unpause and restart change the container's state")
    func signalsAndPause() async throws {
        try await TestEngine.withClient { client in
            try await TestEngine.withContainer(client, command: TestEngine.chattyIdle) { id in
                try await client.startContainer(id)
                try await client.pauseContainer(id)
                #expect(try await client.inspectContainer(id).state.paused)
                try await client.unpauseContainer(id)
                #expect(try await client.inspectContainer(id).state.paused == false)
                let before = try await client.inspectContainer(id).state.startedAt
                try await client.restartContainer(id, timeout: .seconds(2))
                let restarted = try await client.inspectContainer(id).state
                #expect(restarted.running)
                #expect(restarted.startedAt != before)
                try await client.killContainer(id, signal: "SIGKILL")
                #expect(try await client.waitContainer(id).statusCode == 137)
                let error = await #expect(throws: DockerError.self) { try await client.killContainer(id) }
                #expect(error?.code == .conflict, "killing a stopped container is a conflict")
            }
        }
    }

    @Test("mounts, published loopback ports and the health check reach the engine")
    func mountsPortsHealth() async throws {
        try await TestEngine.withClient { client in
            let volume = "persona-test-\(UUID().uuidString.prefix(8).lowercased())"
            try await client.createVolume(Docker.VolumeSpec(name: volume, labels: [TestEngine.testLabel: "1"]))
            let hostDir = FileManager.default.temporaryDirectory.appendingPathComponent("persona-test-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: hostDir, withIntermediateDirectories: true)
            try "from-host\n".write(toFile: "\(hostDir)/file", atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: hostDir) }
            do {
                try await TestEngine.withContainer(client, command: TestEngine.chattyIdle) { spec in
                    spec.healthcheck = Docker.Healthcheck(test: ["CMD", "true"], interval: .seconds(1), retries: 1)
                    spec.host.mounts = [
                        .bind(hostDir, at: "/workspace", readOnly: true),
                        .volume(volume, at: "/cache"),
                        .tmpfs(at: "/scratch", sizeBytes: 1 << 20),
                    ]
                    spec.host.portBindings = ["7070/tcp": [.loopback()]]
                    spec.user = "65534:65534"
                    spec.workingDirectory = "/workspace"
                } _: { id in
                    try await client.startContainer(id)
                    let inspect = try await client.inspectContainer(id)
                    let port = try #require(inspect.networkSettings?.hostPort(for: "7070/tcp"))
                    #expect(port > 0)
                    #expect(inspect.networkSettings?.ports?["7070/tcp"]??.first?.hostIP == "127.0.0.1")
                    let destinations = Set(inspect.mounts?.map(\.destination) ?? [])
                    #expect(destinations.isSuperset(of: ["/workspace", "/cache", "/scratch"]))
                    let read = try await client.exec(["sh", "-c", "cat file; pwd; id -u; touch file 2>/dev/null || echo ro"], in: id)
                    #expect(read.stdout == "from-host\n/workspace\n65534\nro\n")
                    let health = try await eventually { try await client.inspectContainer(id).state.health?.status } until: { $0 == "healthy" }
                    #expect(health == "healthy")
                }
            } catch {
                try? await client.removeVolume(volume, force: true)
                throw error
            }
            try await client.removeVolume(volume)
        }
    }

    @Test("listing with a label filter returns exactly the labelled containers")
    func listByLabel() async throws {
        try await TestEngine.withClient { client in
            let run = UUID().uuidString
            try await TestEngine.withContainer(client, command: ["true"], run: run) { first in
                try await TestEngine.withContainer(client, command: ["true"], run: run) { second in
                    try await TestEngine.withContainer(client, command: ["true"]) { other in
                        let listed = try await client.listContainers(filters: .label("\(TestEngine.testLabel).run", run))
                        #expect(Set(listed.map(\.id)) == [first, second])
                        #expect(!listed.map(\.id).contains(other))
                        let running = try await client.listContainers(all: false, filters: .label("\(TestEngine.testLabel).run", run))
                        #expect(running.isEmpty, "created but never started")
                    }
                }
            }
        }
    }
}

/// Polls `value` until `condition` holds (about 10 s at most); returns the last value.
func eventually<T>(_ value: () async throws -> T, until condition: (T) -> Bool) async throws -> T {
    var last = try await value()
    for _ in 0..<100 where !condition(last) {
        try await Task.sleep(for: .milliseconds(100))
        last = try await value()
    }
    return last
}
