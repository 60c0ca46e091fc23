import Foundation
import PersonaKit
import Testing
import TestTraits

/// `compose/`: cannot be started here (no registry), so it is validated the way DESIGN.md
/// says: `docker-compose config` resolves it, and LiteLLM's config is checked as YAML.
@Suite("Compose deployment files", .blocking)
struct ComposeTests {
    static let compose = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("compose").path

    func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.compose)
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let required = ["POSTGRES_PASSWORD": "pg-secret", "JWT_SECRET": String(repeating: "j", count: 40),
                           "JWT_REFRESH_SECRET": String(repeating: "r", count: 40), "ENCRYPTION_KEY": String(repeating: "ab", count: 32),
                           "PERSONA_ADMIN_PASSWORD": "a long admin password"]

    @Test("docker-compose config resolves the stack: PostgreSQL with pgvector, the LiteLLM proxy, the control plane on loopback")
    func composeConfig() throws {
        var env = Self.required
        env["PATH"] = "/usr/bin:/bin"
        let (status, output) = try run("/usr/bin/docker-compose", ["-f", "docker-compose.yml", "config"], environment: env)
        try #require(status == 0, "\(output)")
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(try convertYAML(output).utf8))
        let services = try #require(json["services"]?.objectValue)
        #expect(Set(services.keys) == ["postgres", "litellm", "control-plane"])
        #expect(json["services"]?["postgres"]?["image"]?.stringValue?.contains("pgvector") == true)
        let litellm = try #require(json["services"]?["litellm"])
        #expect(litellm["command"]?.arrayValue?.contains("/app/config.yaml") == true)
        let cp = try #require(json["services"]?["control-plane"])
        #expect(cp["environment"]?["LITELLM_PROXY_URL"] == "http://litellm:4000")
        #expect(cp["environment"]?["DATABASE_URL"]?.stringValue?.contains("pg-secret@postgres:5432") == true)
        let ports = cp["ports"]?.arrayValue ?? []
        #expect(!ports.isEmpty)
        #expect(ports.allSatisfy { $0["host_ip"] == "127.0.0.1" || $0.stringValue?.hasPrefix("127.0.0.1:") == true }, "\(ports)")
    }

    @Test("a missing required secret is refused by name")
    func missingSecret() throws {
        var env = Self.required
        env["PATH"] = "/usr/bin:/bin"
        env["JWT_SECRET"] = nil
        let (status, output) = try run("/usr/bin/docker-compose", ["-f", "docker-compose.yml", "config"], environment: env)
        #expect(status != 0)
        #expect(output.contains("JWT_SECRET"))
    }

    @Test("litellm_config.yaml lists models with provider routes and keys taken from the environment")
    func litellmConfig() throws {
        let text = try String(contentsOfFile: Self.compose + "/litellm_config.yaml", encoding: .utf8)
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(try convertYAML(text).utf8))
        let models = try #require(json["model_list"]?.arrayValue)
        #expect(models.count >= 3)
        for model in models {
            #expect(model["model_name"]?.stringValue?.isEmpty == false)
            #expect(model["litellm_params"]?["model"]?.stringValue?.contains("/") == true)
            #expect(model["litellm_params"]?["api_key"]?.stringValue?.hasPrefix("os.environ/") == true)
        }
        #expect(models.contains { $0["model_name"] == "gpt-4o-mini" })
    }

    /// YAML to JSON with Python's PyYAML (docker-compose depends on it, so it is installed).
    func convertYAML(_ yaml: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("compose-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, output) = try run("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", file],
                                       environment: ["PATH": "/usr/bin:/bin"])
        guard status == 0 else { throw ComposeError(output) }
        return output
    }

    struct ComposeError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
