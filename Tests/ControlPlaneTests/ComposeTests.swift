import Foundation
import PersonaKit
import Testing
import TestTraits

/// `compose/`: `docker-compose config` resolves the files and LiteLLM's config is checked as
/// YAML; ComposeTests+Stack brings the stack up for real from the images scripts/build-images
/// builds (LiteLLM's upstream image cannot be pulled here: the scripted LLM stands in for it).
@Suite("Compose deployment", .blocking)
struct ComposeTests {
    static let compose = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("compose").path

    /// Standard output and error together (compose reports problems on either).
    func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> (Int32, String) {
        let result = try await TestCommand.run(executable, arguments, environment: environment, directory: Self.compose)
        return (result.status, result.transcript)
    }

    static let required = ["POSTGRES_PASSWORD": "pg-secret", "JWT_SECRET": String(repeating: "j", count: 40),
                           "JWT_REFRESH_SECRET": String(repeating: "r", count: 40), "ENCRYPTION_KEY": String(repeating: "ab", count: 32),
                           "PERSONA_ADMIN_PASSWORD": "a long admin password"]

    /// `docker-compose config` of `files` under `environment` (plus PATH), as JSON.
    func config(_ environment: [String: String], files: [String] = ["docker-compose.yml"]) async throws -> JSONValue {
        var env = environment
        env["PATH"] = "/usr/bin:/bin"
        let (status, output) = try await run("/usr/bin/docker-compose", files.flatMap { ["-f", $0] } + ["config"], environment: env)
        try #require(status == 0, "\(output)")
        return try JSONDecoder().decode(JSONValue.self, from: Data(try await convertYAML(output).utf8))
    }

    @Test("docker-compose config resolves the stack: the local PostgreSQL with pgvector and control-plane images, the LiteLLM proxy, the control plane on loopback")
    func composeConfig() async throws {
        let json = try await config(Self.required)
        let services = try #require(json["services"]?.objectValue)
        #expect(Set(services.keys) == ["postgres", "litellm", "control-plane"])
        #expect(json["services"]?["postgres"]?["image"] == "persona-platform/postgres-pgvector:16")
        let litellm = try #require(json["services"]?["litellm"])
        #expect(litellm["image"]?.stringValue?.hasPrefix("ghcr.io/berriai/litellm:") == true)
        #expect(litellm["command"]?.arrayValue?.contains("/app/config.yaml") == true)
        let cp = try #require(json["services"]?["control-plane"])
        #expect(cp["image"] == "persona-platform/control-plane:latest")
        #expect(cp["environment"]?["LITELLM_PROXY_URL"] == "http://litellm:4000")
        #expect(cp["environment"]?["DATABASE_URL"]?.stringValue?.contains("pg-secret@postgres:5432") == true)
        #expect(cp["depends_on"]?["postgres"]?["condition"] == "service_healthy")
        let ports = cp["ports"]?.arrayValue ?? []
        #expect(!ports.isEmpty)
        #expect(ports.allSatisfy { $0["host_ip"] == "127.0.0.1" || $0.stringValue?.hasPrefix("127.0.0.1:") == true }, "\(ports)")
        // The engine mounts persona directories by host path: each is the same path inside.
        let volumes = Set((cp["volumes"]?.arrayValue ?? []).compactMap { $0.stringValue })
        for path in ["/var/lib/persona", "/run/persona", "/run/persona-cp"] {
            #expect(volumes.contains("\(path):\(path):rw"), "\(volumes)")
        }
        #expect(cp["environment"]?["STORAGE_PATH"] == "/var/lib/persona")
    }

    @Test("the host paths move together with STORAGE_PATH, PERSONA_RUN_DIR and PERSONA_CONTROL_SOCKET_DIR; the host-LLM override points LITELLM_PROXY_URL at the Docker host")
    func hostPathsAndHostLLM() async throws {
        var env = Self.required
        env["STORAGE_PATH"] = "/tmp/pc-x/s"
        env["PERSONA_RUN_DIR"] = "/tmp/pc-x/r"
        env["PERSONA_CONTROL_SOCKET_DIR"] = "/tmp/pc-x/c"
        env["PERSONA_HTTP_PORT"] = "23999"
        env["HOST_LLM_URL"] = "http://host.docker.internal:4100"
        let json = try await config(env, files: ["docker-compose.yml", "docker-compose.host-llm.yml"])
        let cp = try #require(json["services"]?["control-plane"])
        let volumes = Set((cp["volumes"]?.arrayValue ?? []).compactMap { $0.stringValue })
        for (name, path) in [("STORAGE_PATH", "/tmp/pc-x/s"), ("PERSONA_RUN_DIR", "/tmp/pc-x/r"), ("PERSONA_CONTROL_SOCKET_DIR", "/tmp/pc-x/c")] {
            #expect(volumes.contains("\(path):\(path):rw"), "\(volumes)")
            #expect(cp["environment"]?[name]?.stringValue == path)
        }
        #expect(cp["ports"]?.arrayValue?.first?.stringValue?.hasPrefix("127.0.0.1:23999:3000") == true, "\(cp["ports"] ?? .null)")
        #expect(cp["environment"]?["LITELLM_PROXY_URL"] == "http://host.docker.internal:4100")
        #expect(cp["extra_hosts"]?["host.docker.internal"] == "host-gateway", "\(cp["extra_hosts"] ?? .null)")

        env["HOST_LLM_URL"] = nil
        env["PATH"] = "/usr/bin:/bin"
        let (status, output) = try await run("/usr/bin/docker-compose", ["-f", "docker-compose.yml", "-f", "docker-compose.host-llm.yml", "config"],
                                       environment: env)
        #expect(status != 0)
        #expect(output.contains("HOST_LLM_URL"))
    }

    @Test("a missing required secret is refused by name")
    func missingSecret() async throws {
        var env = Self.required
        env["PATH"] = "/usr/bin:/bin"
        env["JWT_SECRET"] = nil
        let (status, output) = try await run("/usr/bin/docker-compose", ["-f", "docker-compose.yml", "config"], environment: env)
        #expect(status != 0)
        #expect(output.contains("JWT_SECRET"))
    }

    @Test("litellm_config.yaml lists models with provider routes and keys taken from the environment")
    func litellmConfig() async throws {
        let text = try String(contentsOfFile: Self.compose + "/litellm_config.yaml", encoding: .utf8)
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(try await convertYAML(text).utf8))
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
    func convertYAML(_ yaml: String) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("compose-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, output) = try await run("/usr/bin/python3", ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", file],
                                       environment: ["PATH": "/usr/bin:/bin"])
        guard status == 0 else { throw ComposeError(output) }
        return output
    }

    struct ComposeError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}
