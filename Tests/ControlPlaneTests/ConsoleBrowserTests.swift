import Foundation
import LLM
import PersonaKit
import Testing
import TestSupport

/// The web console in a real browser: Debian's chromium driven by Playwright for Python
/// (`Console/console_e2e.py`) against a live control plane, with computed-style checks of the
/// design tokens, screenshots at 1440x900 and 390x844 under `.build/console-screenshots/`, and
/// axe-core on every page. `scripts/test` installs chromium and the Playwright venv
/// (scripts/lib/browser.sh) and fetches the fonts (scripts/fetch-fonts).
@Suite("Console in a real browser", .serialized)
struct ConsoleBrowserTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let harness = repository.appendingPathComponent("Tests/ControlPlaneTests/Console/console_e2e.py").path
    static let screenshots = repository.appendingPathComponent(".build/console-screenshots")

    /// Where `scripts/fetch-fonts` puts the fonts: `CONSOLE_FONTS_DIR`, else the cache's `fonts/`.
    static var fontsDirectory: String { configuredOrCached("CONSOLE_FONTS_DIR", "fonts") }

    /// Where `scripts/fetch-novnc` puts noVNC: `CONSOLE_NOVNC_DIR`, else the cache's `novnc/`.
    static var noVNCDirectory: String { configuredOrCached("CONSOLE_NOVNC_DIR", "novnc") }

    /// The directory `variable` names, else `folder` in `PERSONA_CACHE_DIR` (the repository's
    /// `.cache` by default), where the fetch scripts write.
    static func configuredOrCached(_ variable: String, _ folder: String) -> String {
        let environment = ProcessInfo.processInfo.environment
        if let configured = environment[variable], !configured.isEmpty { return configured }
        let cache = environment["PERSONA_CACHE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repository.appendingPathComponent(".cache").path
        return cache + "/" + folder
    }

    /// True when both fonts are there (WOFF2, or the TTFs fetch-fonts falls back to).
    static func fontsPresent(in directory: String) -> Bool {
        ["inter", "space-grotesk"].allSatisfy { family in
            ["woff2", "ttf"].contains { FileManager.default.fileExists(atPath: "\(directory)/\(family)-var.\($0)") }
        }
    }

    /// What one run of the harness reported.
    struct Outcome {
        struct Check { var name: String; var ok: Bool; var detail: String }
        var status: Int32
        var checks: [Check]
        var axe: [String: [JSONValue]]
        var screenshots: [String]
        var stderr: String
    }

    /// The Playwright venv's python (`PERSONA_TEST_BROWSER_PYTHON`); throws, failing the test,
    /// when it is not set: these tests are never skipped.
    static func browserPython() throws -> String {
        guard let python = ProcessInfo.processInfo.environment["PERSONA_TEST_BROWSER_PYTHON"], !python.isEmpty else {
            throw TestSetupError("PERSONA_TEST_BROWSER_PYTHON is not set: run the console's browser tests with scripts/test, "
                + "which installs Debian's chromium and the Playwright venv (scripts/lib/browser.sh, ensure_browser)")
        }
        return python
    }

    /// Runs `console_e2e.py --scenario <scenario>` against the control plane on `port` with the
    /// venv's python from `PERSONA_TEST_BROWSER_PYTHON`; kills it after `timeout`.
    static func drive(_ scenario: String, port: Int, email: String, password: String, arguments: [String] = [],
                      timeout: Duration = .seconds(180)) async throws -> Outcome {
        let python = try browserPython()
        let directory = screenshots.appendingPathComponent(scenario)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Output goes to files, not pipes: nothing to drain while waiting, nothing can block.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("console-e2e-\(Identifier.make())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let stdoutURL = scratch.appendingPathComponent("stdout"), stderrURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdout = try FileHandle(forWritingTo: stdoutURL), stderr = try FileHandle(forWritingTo: stderrURL)
        defer { try? stdout.close(); try? stderr.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        // The harness stops itself (and reports) before this test's own deadline.
        let seconds = max(30, Int(timeout.components.seconds) - 30)
        process.arguments = [harness, "--base-url", "http://127.0.0.1:\(port)", "--scenario", scenario,
                             "--screenshots", directory.path, "--email", email, "--password", password,
                             "--timeout", String(seconds)] + arguments
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        var timedOut = false
        if process.isRunning {
            timedOut = true
            // Its process group when it leads one (the Playwright driver and chromium with it).
            if kill(-process.processIdentifier, SIGKILL) != 0 { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let output = String(decoding: (try? Data(contentsOf: stdoutURL)) ?? Data(), as: UTF8.self)
        let log = String(decoding: (try? Data(contentsOf: stderrURL)) ?? Data(), as: UTF8.self)
        if timedOut {
            throw TestSetupError("console_e2e.py --scenario \(scenario) was still running after \(timeout); its log:\n\(log.suffix(4000))")
        }
        let last = output.split(separator: "\n").last.map(String.init) ?? ""
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: Data(last.utf8)), json["checks"] != nil else {
            throw TestSetupError("console_e2e.py exited \(process.terminationStatus) without a JSON result; stdout:\n"
                + "\(output.suffix(2000))\nstderr:\n\(log.suffix(4000))")
        }
        let checks = (json["checks"]?.arrayValue ?? []).map {
            Outcome.Check(name: $0["name"]?.stringValue ?? "?", ok: $0["ok"]?.boolValue ?? false, detail: $0["detail"]?.stringValue ?? "")
        }
        let axe = (json["axe"]?.objectValue ?? [:]).mapValues { $0.arrayValue ?? [] }
        return Outcome(status: process.terminationStatus, checks: checks, axe: axe,
                       screenshots: (json["screenshots"]?.arrayValue ?? []).compactMap(\.stringValue), stderr: log)
    }

    /// One expectation per check (its detail in the message) and per page axe looked at.
    static func expectPassed(_ outcome: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!outcome.checks.isEmpty, "no checks ran; log:\n\(outcome.stderr.suffix(4000))", sourceLocation: sourceLocation)
        for check in outcome.checks {
            #expect(check.ok, "\(check.name): \(check.detail)", sourceLocation: sourceLocation)
        }
        for (page, violations) in outcome.axe.sorted(by: { $0.key < $1.key }) {
            let summary = violations.map { v in
                "\(v["impact"]?.stringValue ?? "?") \(v["id"]?.stringValue ?? "?"): \(v["help"]?.stringValue ?? "") "
                    + "\((v["nodes"]?.arrayValue ?? []).map { "\($0["target"] ?? .null)" })"
            }
            #expect(violations.isEmpty, "axe on \(page): \(summary.joined(separator: "; "))", sourceLocation: sourceLocation)
        }
        if outcome.checks.allSatisfy(\.ok) && outcome.axe.values.allSatisfy(\.isEmpty) {
            let log = outcome.stderr.suffix(4000)
            #expect(outcome.status == 0, "console_e2e.py exited \(outcome.status) although every check passed; log:\n\(log)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test("shell: sign-in errors and success, the design tokens as computed styles, the rail collapsing at 390 px, axe clean, logout ends the session")
    func shell() async throws {
        _ = try Self.browserPython()
        let fonts = Self.fontsDirectory
        let expectFonts = Self.fontsPresent(in: fonts)
        if !expectFonts {
            print("ConsoleBrowserTests: no fonts in \(fonts) (scripts/fetch-fonts): the pages use system fonts and the font checks are left out")
        }
        try await TestApp.run(.sqlite, setup: .live, configure: { $0.consoleFontsDirectory = fonts }) { api, _ in
            let port = try #require(api.port)
            let outcome = try await Self.drive("shell", port: port, email: TestApp.adminEmail, password: TestApp.adminPassword,
                                               arguments: expectFonts ? ["--expect-fonts"] : [])
            Self.expectPassed(outcome)
        }
    }

    @Test("journey: a persona made, started (ready live), a run watched live and approved, memory uploaded and searched, every page screenshotted and axe-clean, a viewer sees no secret, start or approve")
    func journey() async throws {
        _ = try Self.browserPython()
        let fonts = Self.fontsDirectory
        let shell = #"{"command":"echo hello > hello.txt && cat hello.txt"}"#
        let llm = ScriptedLLM([
            .toolCalls([Chat.ToolCall(id: "c1", name: "shell", arguments: shell)]), .text("Wrote hello.txt."),
            .toolCalls([Chat.ToolCall(id: "c2", name: "shell", arguments: shell)]), .text("Again."),
        ])
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("console-journey-\(Identifier.make())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let document = scratch.appendingPathComponent("lighthouse-notes.md")
        try """
            # The lighthouse keeper's log

            The lighthouse keeper climbs the tower at dusk, trims the wick and winds the clockwork that turns the lens.
            Ships pass the reef at night guided by the beam; the keeper writes each one into the log.

            ## Supplies

            Oil arrives by boat every second Tuesday. Bread, tea and lamp glass come with it.
            """.write(to: document, atomically: true, encoding: .utf8)
        try await llm.serve { url in
            try await TestApp.run(.sqlite, setup: .live, configure: {
                $0.consoleFontsDirectory = fonts
                $0.litellmProxyURL = url
                $0.llmTimeoutSeconds = 10
                $0.runWorker.pollInterval = .milliseconds(50)
                $0.runWorker.heartbeatInterval = .milliseconds(100)
            }) { api, _ in
                let port = try #require(api.port)
                let admin = try await api.login().access
                // makeUser's password convention (TestSupport).
                let viewerPassword = "password-for-viewer@example.com"
                _ = try await api.makeUser("viewer@example.com", adminToken: admin)
                let outcome = try await Self.drive("journey", port: port, email: TestApp.adminEmail, password: TestApp.adminPassword,
                                                   arguments: ["--param", "viewer_email=viewer@example.com",
                                                               "--param", "viewer_password=\(viewerPassword)",
                                                               "--param", "document=\(document.path)",
                                                               "--param", "output=Wrote hello.txt."],
                                                   timeout: .seconds(300))
                Self.expectPassed(outcome)
                for page in ["personas", "persona", "run-waiting", "run", "memory", "dashboard", "runs", "tools", "audit", "users",
                             "settings", "health", "persona-viewer"] {
                    #expect(outcome.axe[page] != nil, "axe did not run on \(page)")
                    #expect(outcome.screenshots.contains { $0.contains("/\(page)-1440x900.png") }, "no screenshot of \(page)")
                }
            }
        }
    }

    @Test("desktop: an editor opens a desktop persona's screen in noVNC through the control plane's proxy and the canvas draws what the persona's headed browser shows; a viewer gets no desktop")
    func desktop() async throws {
        _ = try Self.browserPython()
        let noVNC = Self.noVNCDirectory
        guard FileManager.default.fileExists(atPath: noVNC + "/core/rfb.js") else {
            throw TestSetupError("noVNC is not in \(noVNC): run scripts/fetch-novnc (scripts/test does)")
        }
        let fonts = Self.fontsDirectory
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite, setup: .live, configure: {
            $0.consoleFontsDirectory = fonts
            $0.consoleNoVNCDirectory = noVNC
        }) { api, _ in
            let port = try #require(api.port)
            let admin = try await api.login().access
            let viewer = try await api.makeUser("desk-viewer@example.com", adminToken: admin)
            let id = try await ContainerTests.persona(api, admin, name: "Console desktop")
            #expect(try await api.post("/api/personas/\(id)/members", token: admin,
                                       json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            try await DesktopContainerTests.useDesktopImage(api, admin, id, ["browserHeaded": true])
            _ = try await ContainerTests.start(api, admin, id)
            // Something on the screen: a headed chromium showing a page of coloured bands.
            let bands = (0..<12).map { "<div style='height:60px;background:hsl(\($0 * 30),80%,50%)'></div>" }.joined()
            let written = try await ContainerTests.invoke(api, admin, id, "write_file", ["arguments": [
                "path": "site/bands.html", "content": .string("<!doctype html><html><body style='margin:0'>\(bands)</body></html>")]])
            #expect(written.data?["status"] == "succeeded", "\(written.body)")
            let opened = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "file:///workspace/site/bands.html"]])
            #expect(opened.data?["status"] == "succeeded", "\(opened.body)")
            let outcome = try await Self.drive("desktop", port: port, email: TestApp.adminEmail, password: TestApp.adminPassword,
                                               arguments: ["--param", "persona=\(id)", "--param", "viewer_email=desk-viewer@example.com",
                                                           "--param", "viewer_password=password-for-desk-viewer@example.com"],
                                               timeout: .seconds(180))
            Self.expectPassed(outcome)
            for page in ["desktop", "desktop-viewer"] {
                #expect(outcome.axe[page] != nil, "axe did not run on \(page)")
            }
            let opened2 = try await api.get("/api/audit?type=desktop.session_opened", token: admin)
            #expect(opened2.data?.arrayValue?.count == 1, "\(opened2.body)")
        }
    }
}
