import ControlPlane
import DockerEngine
import Foundation
import PersonaKit
import Testing
import TestSupport

/// Browser and desktop sidecars in real containers of the desktop image (real chromium driven
/// by Playwright, real Xvfb and x11vnc). `scripts/test` builds the image; without it these
/// fail, never skip.
@Suite("Browser and desktop sidecars", .serialized)
struct DesktopContainerTests {
    static let formPage = """
        <!doctype html><html><head><title>Sign-up</title></head><body>
        <form action="result.html" method="get">
          <input id="name" name="name" placeholder="Your name">
          <button id="submit" type="submit">Send</button>
        </form>
        <a href="https://example.invalid/help">Help</a>
        </body></html>
        """
    static let resultPage = """
        <!doctype html><html><head><title>Thanks</title></head><body>
        <div id="out"></div>
        <script>document.getElementById('out').textContent = 'Hello, ' + new URLSearchParams(location.search).get('name');</script>
        </body></html>
        """

    /// The supervisor's `/health` inside the container, read with `docker exec`.
    static func sidecars(_ docker: Docker.Client, _ containerId: String) async throws -> [String: JSONValue] {
        let result = try await docker.exec(["/usr/local/bin/persona-supervisor", "status", "--json"], in: containerId)
        guard let line = result.stdout.split(separator: "\n").first else {
            let logs = (try? await docker.collectLogs(containerId, tail: 40)).map { "\($0.stdoutText)\($0.stderrText)" } ?? "-"
            Issue.record("status printed nothing: \(result.stderr); container log: \(logs)")
            throw VNCHandshake.Failure(description: "no supervisor status")
        }
        let health = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        var out: [String: JSONValue] = [:]
        for sidecar in health["sidecars"]?.arrayValue ?? [] { out[sidecar["name"]?.stringValue ?? ""] = sidecar }
        return out
    }

    static func useDesktopImage(_ api: APIClient, _ token: String, _ id: String, _ extra: [String: JSONValue] = [:]) async throws {
        var body: [String: JSONValue] = ["image": "desktop"]
        body.merge(extra) { $1 }
        let put = try await api.put("/api/personas/\(id)/runtime", token: token, json: .object(body))
        #expect(put.status == .ok, "\(put.body)")
        #expect(put.data?["image"] == "desktop")
        #expect(put.data?["imageTag"]?.stringValue?.contains("persona-desktop") == true, "\(put.body)")
    }

    @Test("runtime settings are validated: unknown sidecars, desktop features on the standard image, idle range")
    func runtimeValidation() async throws {
        try await TestApp.run(.sqlite) { api, _ in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin)
            let initial = try await api.get("/api/personas/\(id)/runtime", token: admin)
            #expect(initial.data?["image"] == "standard" && initial.data?["sidecarIdleSeconds"] == 900, "\(initial.body)")
            let headed = try await api.put("/api/personas/\(id)/runtime", token: admin, json: ["browserHeaded": true])
            #expect(headed.status == .unprocessableContent && headed.code == "unprocessable", "\(headed.body)")
            let bogus = try await api.put("/api/personas/\(id)/runtime", token: admin, json: ["image": "desktop", "eagerSidecars": ["gpu"]])
            #expect(bogus.status == .badRequest, "\(bogus.body)")
            let idle = try await api.put("/api/personas/\(id)/runtime", token: admin, json: ["sidecarIdleSeconds": -1])
            #expect(idle.status == .badRequest, "\(idle.body)")
            let image = try await api.put("/api/personas/\(id)/runtime", token: admin, json: ["image": "windows"])
            #expect(image.status == .badRequest, "\(image.body)")
            #expect(try await api.get("/api/personas/\(id)/runtime", token: admin).data?["image"] == "standard", "nothing half-written")
            let desktop = try await api.get("/api/personas/\(id)/desktop", token: admin)
            #expect(desktop.status == .conflict && desktop.code == "desktop_unavailable", "\(desktop.body)")
        }
    }

    @Test("browser tools fill and submit a form in real chromium, read the result, screenshot a PNG that decodes, survive a killed chromium")
    func browserTools() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite) { api, _ in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin)
            try await Self.useDesktopImage(api, admin, id)
            let started = try await ContainerTests.start(api, admin, id)
            let containerId = try #require(started["containerId"]?.stringValue)
            #expect(started["image"]?.stringValue?.contains("persona-desktop") == true)
            let tools = try await api.get("/api/personas/\(id)/tools", token: admin).data?.arrayValue ?? []
            for name in ["browser_navigate", "browser_click", "browser_type", "browser_extract", "browser_screenshot", "browser_evaluate",
                         "desktop_screenshot"] {
                #expect(tools.contains { $0["name"]?.stringValue == name }, "\(name) registered")
            }
            #expect(try await Self.sidecars(docker, containerId)["chromium"]?["state"] == "stopped", "nothing starts before it is needed")

            for (path, page) in [("site/form.html", Self.formPage), ("site/result.html", Self.resultPage)] {
                let written = try await ContainerTests.invoke(api, admin, id, "write_file", ["arguments": ["path": .string(path), "content": .string(page)]])
                #expect(written.data?["status"] == "succeeded", "\(written.body)")
            }
            let opened = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "file:///workspace/site/form.html"]])
            #expect(opened.data?["status"] == "succeeded", "\(opened.body)")
            #expect(opened.data?["output"]?["title"] == "Sign-up", "\(opened.body)")
            let typed = try await ContainerTests.invoke(api, admin, id, "browser_type", ["arguments": ["selector": "#name", "text": "Ada Lovelace"]])
            #expect(typed.data?["status"] == "succeeded", "\(typed.body)")
            let clicked = try await ContainerTests.invoke(api, admin, id, "browser_click", ["arguments": ["selector": "#submit"]])
            #expect(clicked.data?["status"] == "succeeded", "\(clicked.body)")
            #expect(clicked.data?["output"]?["url"]?.stringValue?.contains("result.html?name=Ada+Lovelace") == true, "\(clicked.body)")
            let read = try await ContainerTests.invoke(api, admin, id, "browser_extract", ["arguments": ["mode": "text", "selector": "#out"]])
            #expect(read.data?["output"]?["text"] == "Hello, Ada Lovelace", "\(read.body)")

            // Cookies and history live in one browser per persona: going back finds the form.
            _ = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "file:///workspace/site/form.html"]])
            let links = try await ContainerTests.invoke(api, admin, id, "browser_extract", ["arguments": ["mode": "links"]])
            #expect(links.data?["output"]?["links"]?.arrayValue?.contains { $0["href"] == "https://example.invalid/help" } == true, "\(links.body)")

            let shot = try await ContainerTests.invoke(api, admin, id, "browser_screenshot", ["arguments": [:]])
            #expect(shot.data?["status"] == "succeeded", "\(shot.body)")
            let runId = try #require(shot.data?["id"]?.stringValue)
            #expect(shot.data?["artifacts"]?.arrayValue?.count == 1, "\(shot.body)")
            let artifact = try await api.get("/api/personas/\(id)/tool-runs/\(runId)/artifacts/0", token: admin)
            #expect(artifact.status == .ok)
            #expect(artifact.headers[.contentType] == "image/png")
            let png = try PNGImage(artifact.bytes)
            #expect(png.width == shot.data?["output"]?["width"]?.intValue && png.height == shot.data?["output"]?["height"]?.intValue)
            #expect(png.width == 1280 && png.height > 100, "the viewport of the 1280-wide window: \(png.width)x\(png.height)")
            #expect(png.distinctColours() > 2, "the page's text is on it")
            #expect(try await api.get("/api/personas/\(id)/tool-runs/\(runId)/artifacts/1", token: admin).status == .notFound)

            let unreachable = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "http://127.0.0.1:9/"]])
            #expect(unreachable.data?["status"] == "failed" && unreachable.data?["errorCode"] == "page_unreachable", "\(unreachable.body)")
            let badURL = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "javascript:alert(1)"]])
            #expect(badURL.status == .badRequest, "the schema refuses it: \(badURL.body)")

            // Kill chromium mid-session: the supervisor restarts it and the next call works.
            let before = try await Self.sidecars(docker, containerId)
            let chromiumPid = try #require(before["chromium"]?["pid"]?.intValue)
            #expect(before["chromium"]?["state"] == "ready" && before["playwright"]?["state"] == "ready")
            #expect((before["chromium"]?["memoryBytes"]?.intValue ?? 0) > 50 << 20, "chromium's process tree: \(before["chromium"] ?? .null)")
            let killed = try await docker.exec(["kill", "-9", String(chromiumPid)], in: containerId)
            #expect(killed.exitCode == 0, "\(killed.stderr)")
            let again = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "file:///workspace/site/result.html?name=again"]])
            #expect(again.data?["status"] == "succeeded", "\(again.body)")
            let after = try await Self.sidecars(docker, containerId)
            #expect(after["chromium"]?["restarts"]?.intValue == 1, "\(after["chromium"] ?? .null)")
            #expect(after["chromium"]?["lastExit"]?["status"] == -9)
            #expect(after["chromium"]?["pid"]?.intValue != chromiumPid)
            let reread = try await ContainerTests.invoke(api, admin, id, "browser_extract", ["arguments": ["mode": "text", "selector": "#out"]])
            #expect(reread.data?["output"]?["text"] == "Hello, again", "\(reread.body)")

            // The heartbeat carries the sidecars into the container's status (checked against
            // the OpenAPI document by the client).
            var reported: [JSONValue] = []
            let heartbeatArrived = await ContainerTests.eventually(15) {
                reported = (try? await api.get("/api/personas/\(id)/container", token: admin).data?["supervisor"]?["sidecars"]?.arrayValue) ?? []
                return reported.contains { $0["name"] == "chromium" && $0["state"] == "ready" && $0["restarts"] == 1 }
            }
            #expect(heartbeatArrived, "\(reported)")

            // The CDP port is never published; only VNC is, on loopback.
            let inspect = try await docker.inspectContainer(containerId)
            let published = inspect.hostConfig?.portBindings ?? [:]
            #expect(Set(published.keys) == ["5900/tcp"], "\(published)")
            #expect(published["5900/tcp"]?.allSatisfy { $0.hostIP == "127.0.0.1" } == true)

            // Settings changed while the container runs reach it with its next start.
            #expect(try await api.get("/api/personas/\(id)/runtime", token: admin).data?["restartRequired"] == false)
            let changed = try await api.put("/api/personas/\(id)/runtime", token: admin, json: ["sidecarIdleSeconds": 600])
            #expect(changed.data?["restartRequired"] == true, "\(changed.body)")
        }
    }

    @Test("the VNC desktop: loopback only, RFB password authentication from the host, a headed browser on a screenshot that is not blank, desktop input")
    func desktop() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite) { api, _ in
            let admin = try await api.login().access
            let id = try await ContainerTests.persona(api, admin)
            try await Self.useDesktopImage(api, admin, id, ["eagerSidecars": ["desktop"], "browserHeaded": true])
            let started = try await ContainerTests.start(api, admin, id)
            let containerId = try #require(started["containerId"]?.stringValue)
            let email = "viewer-\(UUID().uuidString.prefix(6).lowercased())@example.com"
            let viewer = try await api.makeUser(email, adminToken: admin)
            let member = try await api.post("/api/personas/\(id)/members", token: admin, json: ["email": .string(email), "role": "viewer"])
            #expect(member.status == .created, "\(member.body)")
            #expect(try await api.get("/api/personas/\(id)/desktop", token: viewer.token).status == .forbidden, "viewers do not get the password")

            let desktop = try await api.get("/api/personas/\(id)/desktop", token: admin)
            #expect(desktop.status == .ok, "\(desktop.body)")
            #expect(desktop.headers[.cacheControl] == "no-store")
            let host = try #require(desktop.data?["host"]?.stringValue)
            let port = try #require(desktop.data?["port"]?.intValue)
            let password = try #require(desktop.data?["password"]?.stringValue)
            #expect(host == "127.0.0.1" && password.count == 8)

            // Eager: the desktop is up without any tool call (the first handshake may race it).
            let desktopUp = await ContainerTests.eventually(20) { (try? await Self.sidecars(docker, containerId)["x11vnc"]?["state"]) == "ready" }
            let desktopHealth = (try? await Self.sidecars(docker, containerId)) ?? [:]
            #expect(desktopUp, "\(desktopHealth)")
            let inspect = try await docker.inspectContainer(containerId)
            let everything = "\(inspect.config.env ?? []) \(inspect.config.cmd ?? []) \(inspect.config.entrypoint ?? [])"
            #expect(!everything.contains(password), "the VNC password is not in docker inspect")

            let wrong = try VNCHandshake.authenticate(host: host, port: port, password: "wrong-pw")
            #expect(wrong.accepted == false, "\(wrong)")
            let right = try VNCHandshake.authenticate(host: host, port: port, password: password)
            #expect(right.accepted, "\(right)")
            #expect(right.width == 1280 && right.height == 800, "\(right)")

            // A headed browser window on the desktop, then the desktop's own screenshot.
            let page = "<html><body style='margin:0;background:linear-gradient(90deg,#7E5DFF,#FFA726)'>"
                + "<input id='t' style='position:fixed;left:0;top:0;width:100%;height:100%;font-size:60px;background:transparent' "
                + "oninput=\"document.getElementById('o').textContent=this.value\"><div id='o'></div></body></html>"
            let written = try await ContainerTests.invoke(api, admin, id, "write_file", ["arguments": ["path": "site/desk.html", "content": .string(page)]])
            #expect(written.data?["status"] == "succeeded")
            let opened = try await ContainerTests.invoke(api, admin, id, "browser_navigate", ["arguments": ["url": "file:///workspace/site/desk.html"]])
            #expect(opened.data?["status"] == "succeeded", "\(opened.body)")
            let shot = try await ContainerTests.invoke(api, admin, id, "desktop_screenshot", ["arguments": [:]])
            #expect(shot.data?["status"] == "succeeded", "\(shot.body)")
            let runId = try #require(shot.data?["id"]?.stringValue)
            let png = try PNGImage(try await api.get("/api/personas/\(id)/tool-runs/\(runId)/artifacts/0", token: admin).bytes)
            #expect(png.width == 1280 && png.height == 800)
            #expect(png.distinctColours() > 50, "the gradient page is on the desktop, not a blank screen: \(png.distinctColours()) colours")

            // Desktop input reaches the page: click into it, type, delete a character.
            let click = try await ContainerTests.invoke(api, admin, id, "desktop_click", ["arguments": ["x": 640, "y": 500]])
            #expect(click.data?["status"] == "succeeded", "\(click.body)")
            let type = try await ContainerTests.invoke(api, admin, id, "desktop_type", ["arguments": ["text": "hello"]])
            #expect(type.data?["status"] == "succeeded", "\(type.body)")
            let key = try await ContainerTests.invoke(api, admin, id, "desktop_key", ["arguments": ["keys": "BackSpace"]])
            #expect(key.data?["status"] == "succeeded", "\(key.body)")
            let typed = try await ContainerTests.invoke(api, admin, id, "browser_extract", ["arguments": ["mode": "text", "selector": "#o"]])
            #expect(typed.data?["output"]?["text"] == "hell", "\(typed.body)")

            // A killed x11vnc is restarted and answers again.
            let vncPid = try #require(try await Self.sidecars(docker, containerId)["x11vnc"]?["pid"]?.intValue)
            #expect(try await docker.exec(["kill", "-9", String(vncPid)], in: containerId).exitCode == 0)
            #expect(await ContainerTests.eventually(20) {
                let vnc = try? await Self.sidecars(docker, containerId)["x11vnc"]
                return vnc?["state"] == "ready" && vnc?["restarts"]?.intValue == 1
            })
            #expect(try VNCHandshake.authenticate(host: host, port: port, password: password).accepted)
        }
    }
}
