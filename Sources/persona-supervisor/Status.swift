import ArgumentParser
import PersonaKit
import Supervisor

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print health, sidecars, memory cache, recent invocations and outbox depth of the running supervisor.")

    @Flag(help: "Print nothing; exit 0 when healthy (for HEALTHCHECK).")
    var quiet = false

    @Flag(help: "Print the raw JSON of /health, /v1/info and /v1/memory.")
    var json = false

    func run() async throws {
        let config = try SupervisorConfiguration.fromEnvironment()
        let token = try ContainerToken.read(config.tokenPath)
        let client = SimpleHTTPClient()
        let headers = [("Authorization", "Bearer \(token)")]
        let target = SimpleHTTPClient.Target.unixSocket(config.socketPath)
        let healthResponse = try await client.send(target, method: .GET, path: "/health", headers: headers, timeout: .seconds(5))
        guard healthResponse.status == 200,
              let health = try? SupervisorJSON.decoder.decode(SupervisorHealth.self, from: Data(healthResponse.body))
        else {
            if !quiet { print("supervisor unhealthy: HTTP \(healthResponse.status)") }
            throw ExitCode(1)
        }
        if quiet { throw health.status == "ok" ? ExitCode.success : ExitCode(1) }
        let infoResponse = try await client.send(target, method: .GET, path: "/v1/info", headers: headers, timeout: .seconds(5))
        let memoryResponse = try? await client.send(target, method: .GET, path: "/v1/memory", headers: headers, timeout: .seconds(5))
        if json {
            print(String(decoding: healthResponse.body, as: UTF8.self))
            print(String(decoding: infoResponse.body, as: UTF8.self))
            if let memoryResponse, memoryResponse.status == 200 { print(String(decoding: memoryResponse.body, as: UTF8.self)) }
            return
        }
        guard let info = try? SupervisorJSON.decoder.decode(SupervisorInfo.self, from: Data(infoResponse.body)) else {
            print("health: \(health.status) (info unavailable: HTTP \(infoResponse.status))")
            throw ExitCode(1)
        }
        print("health:      \(health.status)")
        print("version:     \(info.version)  persona: \(info.personaId)  boot: \(info.bootId)")
        print("uptime:      \(info.uptimeSeconds)s  rss: \(info.rssBytes / 1024) KiB  tools: \(info.toolCount)")
        print("registered:  \(info.registered ? "yes" : "no")  outbox depth: \(info.outboxDepth)  running: \(info.runningInvocations)")
        print("sidecars:" + (health.sidecars.isEmpty ? "    none (not in this image)" : ""))
        for sidecar in health.sidecars { print("  " + Self.describe(sidecar)) }
        print("memory:      \(Self.describe(memoryResponse))")
        print("recent invocations:")
        if info.recentInvocations.isEmpty { print("  (none)") }
        for item in info.recentInvocations {
            let duration = item.durationMs.map { "\($0)ms" } ?? "-"
            print("  \(item.id)  \(item.tool.padding(12))  \(item.status.rawValue.padding(11))  \(duration.padding(8))  trace \(item.traceId)")
        }
    }
}

extension Status {
    /// One line per sidecar: state, pid, memory, restarts, last exit, last use.
    static func describe(_ sidecar: SidecarHealth) -> String {
        var line = "\(sidecar.name.padding(11)) \(sidecar.state.padding(9))"
        line += " pid \(sidecar.pid.map(String.init) ?? "-")".padding(11)
        line += " mem \(sidecar.memoryBytes.map { "\($0 >> 20) MiB" } ?? "-")".padding(12)
        line += " restarts \(sidecar.restarts)"
        if let exit = sidecar.lastExit {
            let how = exit.status < 0 ? "signal \(-exit.status)" : "status \(exit.status)"
            line += "  last exit \(how)\(exit.requested ? " (stopped)" : "") at \(exit.at.formatted(.iso8601))"
        }
        if sidecar.eager { line += "  eager" }
        if let detail = sidecar.detail { line += "  (\(detail))" }
        return line
    }

    /// One line about the memory cache: size, cursor, model, last sync and its error.
    static func describe(_ response: SimpleHTTPClient.Response?) -> String {
        guard let response, response.status == 200,
              let memory = try? SupervisorJSON.decoder.decode(MemoryCacheStatus.self, from: Data(response.body))
        else { return "unavailable" }
        var line = "\(memory.chunkCount) chunks (\(memory.vectorCount) with vectors)  version \(memory.version)"
        line += "  model \(memory.model ?? "-")  last sync \(memory.lastSyncAt.map { $0.formatted(.iso8601) } ?? "never")"
        if let error = memory.lastSyncError { line += "  error: \(error)" }
        return line
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
