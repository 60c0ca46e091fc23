import ArgumentParser
import Logging
import PersonaKit
import PersonaCore
import Supervisor
#if canImport(Glibc)
import Glibc
#endif

/// `persona-supervisor`: PID 1 of a persona container (`serve`) and the operator's view of
/// it (`status`, run with `docker exec <container> persona-supervisor status`).
@main
struct PersonaSupervisor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "persona-supervisor",
        abstract: "PID 1 of a persona container: reaps, runs tools, serves the supervisor API.",
        subcommands: [Serve.self, Status.self, Version.self],
        defaultSubcommand: Serve.self
    )

}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the supervisor (the container's entrypoint).")

    func run() async throws {
        let config = try SupervisorConfiguration.fromEnvironment()
        try JSONLogHandler.bootstrap(level: config.logLevel)
        let logger = Logger(label: "persona-supervisor")
        // Outside a container (PID != 1) become a subreaper, so orphans still come to us.
        if getpid() != 1 { Reaper.becomeSubreaper() }
        let supervisor = Supervisor(configuration: config, reaperMode: .allChildren, logger: logger)
        do {
            try await supervisor.run()
        } catch {
            logger.critical("supervisor failed to start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the supervisor version.")

    func run() throws {
        print(SupervisorVersion.current)
    }
}
