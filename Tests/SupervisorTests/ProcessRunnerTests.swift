import Foundation
import Testing
@testable import Supervisor

@Suite("Process spawn path and reaper")
struct ProcessRunnerTests {
    let runner = Fixtures.runner

    @Test("a spawned process leads its own process group and sees only the environment it was given")
    func ownGroupAndScrubbedEnvironment() async throws {
        setenv("SUPERVISOR_TEST_LEAK", "must-not-appear", 1)
        let outcome = try await runner.run(ProcessSpec(
            executable: "/bin/bash",
            arguments: ["bash", "-c", #"echo "$$ $(cut -d' ' -f5 /proc/$$/stat)"; env | sort"#],
            environment: ["PATH": "/usr/bin:/bin", "ONLY": "this"]))
        let lines = String(decoding: outcome.stdout, as: UTF8.self).split(separator: "\n")
        let ids = lines[0].split(separator: " ")
        #expect(outcome.exitStatus == 0)
        #expect(ids[0] == ids[1], "pid == pgid")
        #expect(Int32(ids[0]) == outcome.pid)
        let env = lines.dropFirst().map(String.init)
        #expect(env.contains("ONLY=this"))
        #expect(!env.contains { $0.hasPrefix("SUPERVISOR_TEST_LEAK") })
    }

    @Test("stdin is fed, stdout captured, stderr keeps its tail")
    func stdio() async throws {
        let outcome = try await runner.run(ProcessSpec(
            executable: "/bin/bash", arguments: ["bash", "-c", "tr a-z A-Z; for i in $(seq 1 2000); do echo line$i >&2; done"],
            stdin: Array("hello".utf8), stderrTailBytes: 64))
        #expect(String(decoding: outcome.stdout, as: UTF8.self) == "HELLO")
        #expect(outcome.stderrTail.count == 64)
        #expect(String(decoding: outcome.stderrTail, as: UTF8.self).hasSuffix("line2000\n"))
    }

    @Test("stdout past the cap is drained and dropped, and the process is not blocked")
    func outputCap() async throws {
        let outcome = try await runner.run(ProcessSpec(
            executable: "/usr/bin/head", arguments: ["head", "-c", "5000000", "/dev/zero"], maxStdoutBytes: 1000))
        #expect(outcome.exitStatus == 0)
        #expect(outcome.stdoutTruncated)
        #expect(outcome.stdout.count == 1000)
    }

    @Test("killWhenStdoutFull kills the group as soon as stdout passes the cap instead of draining it")
    func killWhenStdoutFull() async throws {
        // `yes` never ends by itself: only the kill at the cap ends it before the timeout.
        let outcome = try await runner.run(ProcessSpec(
            executable: "/usr/bin/yes", arguments: ["yes"], timeout: .seconds(30), maxStdoutBytes: 1000, killWhenStdoutFull: true))
        #expect(outcome.stdoutTruncated)
        #expect(outcome.stdout.count == 1000)
        #expect(outcome.exitStatus == -SIGKILL)
        #expect(!outcome.timedOut)
        #expect(outcome.duration < .seconds(15))
    }

    @Test("a timeout kills the whole process group, background jobs included")
    func timeoutKillsGroup() async throws {
        let outcome = try await runner.run(ProcessSpec(
            executable: "/bin/bash", arguments: ["bash", "-c", "sleep 30 & echo $!; sleep 30 & echo $!; wait"],
            timeout: .milliseconds(400)))
        #expect(outcome.timedOut)
        #expect(outcome.exitStatus == -SIGKILL)
        // Far below the jobs' 30 s (generous: the suites run in parallel on two cores).
        #expect(outcome.duration < .seconds(15))
        let pids = String(decoding: outcome.stdout, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        #expect(pids.count == 2)
        for pid in pids {
            #expect(await Fixtures.eventually { !Fixtures.processExists(pid) }, "background job \(pid) survived")
        }
    }

    @Test("cancel kills the group")
    func cancel() async throws {
        let handle = ProcessHandle()
        async let outcome = runner.run(ProcessSpec(executable: "/bin/sleep", arguments: ["sleep", "30"]), handle: handle)
        try await Task.sleep(for: .milliseconds(100))
        handle.cancel()
        let result = try await outcome
        #expect(result.cancelled)
        #expect(result.exitStatus == -SIGKILL)
    }

    @Test("a missing executable is a spawn failure, and its child is still reaped")
    func spawnFailure() async throws {
        await #expect(throws: SupervisorError.self) {
            _ = try await runner.run(ProcessSpec(executable: "/nonexistent/tool", arguments: ["tool"]))
        }
    }

    @Test("an executable still open for writing (text file busy) is retried until it can run")
    func busyExecutable() async throws {
        let root = try Fixtures.temporaryDirectory("busy")
        defer { Fixtures.remove(root) }
        let path = root + "/tool"
        // Held open for writing, as by a concurrent fork that inherited the descriptor:
        // exec fails with ETXTBSY until it is closed.
        let writer = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        try #require(writer >= 0)
        let script = "#!/bin/sh\necho ran\n"
        #expect(script.withCString { write(writer, $0, strlen($0)) } == script.utf8.count)
        let closer = Thread { usleep(150_000); close(writer) }
        closer.start()
        let outcome = try await runner.run(ProcessSpec(executable: path, arguments: ["tool"]))
        #expect(outcome.exitStatus == 0)
        #expect(String(decoding: outcome.stdout, as: UTF8.self) == "ran\n")
    }

    @Test("orphaned grandchildren are reaped: no zombies after many runs")
    func orphansReaped() async throws {
        let before = Fixtures.reaper.orphansReaped
        for _ in 0..<40 {
            // The subshell exits at once; its `sleep` is re-parented to us (a subreaper) and
            // dies with the group.
            let outcome = try await runner.run(ProcessSpec(
                executable: "/bin/bash", arguments: ["bash", "-c", "(sleep 5 &) ; (true &) ; echo ok"]))
            #expect(outcome.exitStatus == 0)
        }
        #expect(await Fixtures.eventually { Fixtures.zombieChildren().isEmpty }, "zombies: \(Fixtures.zombieChildren())")
        #expect(Fixtures.reaper.orphansReaped - before >= 40)
    }

    @Test("tools run as uid/gid 1000 when the supervisor is root", .enabled(if: geteuid() == 0, "switching to uid 1000 needs root; CI runs as root"))
    func switchesUser() async throws {
        let outcome = try await runner.run(ProcessSpec(
            executable: "/bin/bash", arguments: ["bash", "-c", "id -u; id -g; id -G"], user: (1000, 1000)))
        #expect(String(decoding: outcome.stdout, as: UTF8.self) == "1000\n1000\n1000\n")
    }
}
