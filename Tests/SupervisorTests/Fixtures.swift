import Foundation
import Logging
import PersonaKit
@testable import Supervisor

/// Shared fixtures: one reaper for the whole test process (in `ownGroups` mode, so it never
/// steals children other test suites start), temporary directories, the repository's tools.
enum Fixtures {
    static let reaper: Reaper = {
        Reaper.becomeSubreaper()
        let reaper = Reaper(mode: .ownGroups)
        reaper.start()
        return reaper
    }()

    static var runner: ProcessRunner { ProcessRunner(reaper: reaper) }

    static let logger: Logger = {
        var logger = Logger(label: "supervisor-tests")
        logger.logLevel = .warning
        return logger
    }()

    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var toolsDirectory: String { repositoryRoot + "/tools" }

    /// A fresh directory under /tmp (short, so socket paths fit `sun_path`).
    static func temporaryDirectory(_ prefix: String = "sv") throws -> String {
        let path = "/tmp/\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A tool runner over a fresh database and workspace, with the repository's manifests
    /// plus `extraTools` (name -> (manifest JSON, script)).
    static func makeToolRunner(
        extraTools: [String: (manifest: String, script: String)] = [:], secrets: [String: String] = [:],
        events: @escaping @Sendable (InvocationEvent) -> Void = { _ in }
    ) throws -> (runner: ToolRunner, workspace: String, database: SQLiteDatabase, cleanup: @Sendable () -> Void) {
        let root = try temporaryDirectory("tr")
        let workspace = root + "/workspace"
        let tools = root + "/tools"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: toolsDirectory, toPath: tools)
        for (name, tool) in extraTools {
            let dir = tools + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try tool.manifest.write(toFile: dir + "/tool.json", atomically: true, encoding: .utf8)
            try tool.script.write(toFile: dir + "/run", atomically: true, encoding: .utf8)
            chmod(dir + "/run", 0o755)
        }
        let db = try SupervisorStore.open(path: root + "/supervisor.db")
        let catalog = ToolCatalog.load(from: tools, available: Set(ToolManifest.Need.allCases), logger: logger)
        let context = ToolContext(personaId: "p-test", bootId: "b-test", workspace: Workspace(root: workspace),
                                  processes: runner, toolUser: nil, secrets: SecretStore(secrets))
        let runner = ToolRunner(catalog: catalog, journal: InvocationJournal(db: db), context: context, logger: logger, emit: events)
        return (runner, workspace, db, { db.close(); remove(root) })
    }

    /// Children of this process that are zombies right now.
    static func zombieChildren() -> [Int32] {
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var zombies: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let ppid = Int32(fields[1]) else { continue }
            if ppid == me && fields[0] == "Z" { zombies.append(pid) }
        }
        return zombies
    }

    static func processExists(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z"
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Double = 3, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
