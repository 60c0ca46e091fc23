import Console
import ControlPlane
import Foundation
import HTTPTypes
import PersonaKit
import Testing
import TestSupport

/// The console as the server serves it: pages, static files, and the cookie session with its
/// CSRF check. The browser itself drives it in ConsoleBrowserTests.
@Suite("Web console (server side)")
struct ConsoleTests {
    static let cookieName = HTTPField.Name("Cookie")!

    /// `name=value` pairs of the response's Set-Cookie headers, with their attributes.
    static func cookies(_ response: APIResponse) -> [String: String] {
        var out: [String: String] = [:]
        for field in response.headers where field.name == .setCookie {
            let name = String(field.value.prefix { $0 != "=" })
            out[name] = field.value
        }
        return out
    }

    static func value(_ setCookie: String?) -> String? {
        guard let setCookie else { return nil }
        let pair = setCookie.split(separator: ";", maxSplits: 1).first ?? ""
        return pair.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
    }

    @Test("every page renders with its policy, its rail and a CSRF cookie; a repeat with the ETag is 304")
    func pages() async throws {
        try await TestApp.run(.sqlite) { api, services in
            let site = try #require(services.console)
            for page in ConsolePage.all {
                let path = "/" + page.path.replacingOccurrences(of: "{id}", with: "0190a4b2-0000-7000-8000-000000000001")
                let response = try await api.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let policy = try #require(response.headers[HTTPField.Name("Content-Security-Policy")!])
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "\(policy)")
                #expect(response.body.hasPrefix("<!doctype html>"), "\(path): \(response.body.prefix(80))")
                #expect(response.body.contains("/console/static/\(site.assets.version)/console.css"))
                #expect(!response.body.contains("<script>") && !response.body.contains(" style="), "\(path): inline script or style")
                if page.template != "login" {
                    #expect(response.body.contains("data-page=\"\(page.template)\""))
                    #expect(response.body.contains("class=\"rail glass-panel\""))
                }
                let csrf = try #require(Self.cookies(response)[ConsoleSession.csrfCookie], "\(path)")
                #expect(csrf.contains("SameSite=Strict") && csrf.contains("Path=/") && !csrf.contains("HttpOnly"))
                #expect(Self.value(csrf)?.count == 64)
                let etag = try #require(response.headers[.eTag])
                let again = try await api.request(.get, path, headers: [.ifNoneMatch: etag, Self.cookieName: "persona_csrf=\(Self.value(csrf)!)"])
                #expect(again.status == .notModified)
                #expect(Self.cookies(again)[ConsoleSession.csrfCookie] == nil, "a page does not replace a CSRF cookie the browser has")
            }
            // The id reaches the page as data, escaped.
            let hostile = try await api.get("/personas/%22%3E%3Cscript%3E")
            #expect(!hostile.body.contains("\"><script>"))
        }
    }

    @Test("static files: immutable under their content version, gzip when asked, 304 by ETag, 404 for another version")
    func staticFiles() async throws {
        try await TestApp.run(.sqlite) { api, services in
            let site = try #require(services.console)
            #expect(site.assets.version.count == 16)
            for path in ["console.css", "js/app.js", "js/api.js", "js/pages/run.js", "fonts.css", "icon.svg"] {
                let url = "/console/static/\(site.assets.version)/\(path)"
                let plain = try await api.get(url)
                #expect(plain.status == .ok, "\(path)")
                #expect(plain.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(plain.headers[.contentEncoding] == nil)
                let etag = try #require(plain.headers[.eTag])
                let zipped = try await api.request(.get, url, headers: [.acceptEncoding: "gzip, br"])
                if path != "icon.svg" && path != "fonts.css" {
                    #expect(zipped.headers[.contentEncoding] == "gzip", "\(path)")
                    #expect(zipped.bytes.count * 4 < plain.bytes.count * 3, "\(path): \(zipped.bytes.count) of \(plain.bytes.count)")
                    #expect(zipped.bytes.prefix(2) == [0x1f, 0x8b])
                }
                let cached = try await api.request(.get, url, headers: [.ifNoneMatch: etag])
                #expect(cached.status == .notModified)
            }
            #expect(try await api.get("/console/static/0000000000000000/console.css").status == .notFound)
            #expect(try await api.get("/console/static/\(site.assets.version)/../templates/layout.mustache").status == .notFound)
            // The tokens are in the stylesheet exactly as the seed writes them.
            let css = try await api.get("/console/static/\(site.assets.version)/console.css").body
            for token in ["--color-primary: #7E5DFF;", "--color-secondary: #FFA726;", "--color-background: #0B0F1E;",
                          "--color-panel: #13182B;", "--color-outline: rgba(255,255,255,0.08);",
                          "--gradient-primary: linear-gradient(135deg,#7E5DFF,#4DA0FC);",
                          "box-shadow: 0 0 0 3px rgba(126,93,255,0.35)", "transform 220ms cubic-bezier(0.22,1,0.36,1)",
                          "letter-spacing: 0.08em", "prefers-reduced-motion: reduce"] {
                #expect(css.contains(token), "\(token)")
            }
        }
    }

    @Test("the cookie session: CSRF required, refresh token only in an HttpOnly cookie, rotation, reuse ends the session, logout clears it")
    func cookieSession() async throws {
        try await TestApp.run(.sqlite) { api, _ in
            let page = try await api.get("/login")
            let csrf = try #require(Self.value(Self.cookies(page)[ConsoleSession.csrfCookie]))
            let credentials: JSONValue = ["email": .string(TestApp.adminEmail), "password": .string(TestApp.adminPassword)]

            // No token, a wrong token, a token without its cookie, another origin: refused, nothing set.
            for headers: HTTPFields in [
                [Self.cookieName: "persona_csrf=\(csrf)"],
                [Self.cookieName: "persona_csrf=\(csrf)", ConsoleSession.csrfHeader: String(repeating: "0", count: 64)],
                [ConsoleSession.csrfHeader: csrf],
                [Self.cookieName: "persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf, .origin: "https://evil.example"],
            ] {
                let refused = try await api.request(.post, "/api/auth/session", json: credentials, headers: headers)
                #expect(refused.status == .forbidden)
                #expect(refused.code == "csrf_failed")
                #expect(Self.cookies(refused).isEmpty)
            }
            let csrfHeaders: HTTPFields = [Self.cookieName: "persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf]
            let wrong = try await api.request(.post, "/api/auth/session",
                                              json: ["email": .string(TestApp.adminEmail), "password": "not the password"], headers: csrfHeaders)
            #expect(wrong.status == .unauthorized)
            #expect(Self.cookies(wrong)[ConsoleSession.refreshCookie] == nil)

            let login = try await api.request(.post, "/api/auth/session", json: credentials, headers: csrfHeaders)
            #expect(login.status == .ok)
            #expect(login.data?["refreshToken"] == nil, "the refresh token never reaches the page's scripts")
            let access = try #require(login.data?["accessToken"]?.stringValue)
            let cookie = try #require(Self.cookies(login)[ConsoleSession.refreshCookie])
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/auth/session", "Max-Age="] {
                #expect(cookie.contains(attribute), "\(cookie)")
            }
            #expect(!cookie.contains("Secure"), "plain HTTP without COOKIE_SECURE")
            let first = try #require(Self.value(cookie))
            #expect(try await api.get("/api/users/me", token: access).status == .ok)

            // Refresh: needs the CSRF token too; rotates the cookie.
            let refreshNoCSRF = try await api.request(.post, "/api/auth/session/refresh",
                                                      headers: [Self.cookieName: "persona_refresh=\(first); persona_csrf=\(csrf)"])
            #expect(refreshNoCSRF.status == .forbidden)
            let refreshed = try await api.request(.post, "/api/auth/session/refresh", headers: [
                Self.cookieName: "persona_refresh=\(first); persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf])
            #expect(refreshed.status == .ok)
            let second = try #require(Self.value(Self.cookies(refreshed)[ConsoleSession.refreshCookie]))
            #expect(second != first && !second.isEmpty)
            let access2 = try #require(refreshed.data?["accessToken"]?.stringValue)

            // Logout through the session route ends the session and clears the cookie.
            let logout = try await api.request(.delete, "/api/auth/session", token: access2)
            #expect(logout.status == .noContent)
            let cleared = try #require(Self.cookies(logout)[ConsoleSession.refreshCookie])
            #expect(Self.value(cleared) == "" && cleared.contains("Max-Age=0") && cleared.contains("Path=/api/auth/session"))
            #expect(try await api.get("/api/users/me", token: access2).status == .unauthorized)
            let after = try await api.request(.post, "/api/auth/session/refresh", headers: [
                Self.cookieName: "persona_refresh=\(second); persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf])
            #expect(after.status == .unauthorized)
            #expect(Self.cookies(after)[ConsoleSession.refreshCookie]?.contains("Max-Age=0") == true, "a stale cookie is cleared")
            let none = try await api.request(.post, "/api/auth/session/refresh", headers: csrfHeaders)
            #expect(none.status == .unauthorized)

            // A rotated cookie presented again (stolen) ends the session it belonged to.
            let again = try await api.request(.post, "/api/auth/session", json: credentials, headers: csrfHeaders)
            let a = try #require(Self.value(Self.cookies(again)[ConsoleSession.refreshCookie]))
            let rotated = try await api.request(.post, "/api/auth/session/refresh", headers: [
                Self.cookieName: "persona_refresh=\(a); persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf])
            let newest = try #require(rotated.data?["accessToken"]?.stringValue)
            let replay = try await api.request(.post, "/api/auth/session/refresh", headers: [
                Self.cookieName: "persona_refresh=\(a); persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf])
            #expect(replay.status == .unauthorized)
            #expect(try await api.get("/api/users/me", token: newest).status == .unauthorized)
        }
    }

    @Test("cookies carry Secure behind a trusted TLS proxy and with COOKIE_SECURE")
    func secureCookies() async throws {
        try await TestApp.run(.sqlite, configure: { $0.trustProxy = true }) { api, _ in
            let page = try await api.request(.get, "/login", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(Self.cookies(page)[ConsoleSession.csrfCookie]?.contains("Secure") == true)
            let plain = try await api.get("/login")
            #expect(Self.cookies(plain)[ConsoleSession.csrfCookie]?.contains("Secure") == false)
        }
        try await TestApp.run(.sqlite, configure: { $0.cookieSecure = true }) { api, _ in
            let page = try await api.get("/login")
            let csrf = try #require(Self.value(Self.cookies(page)[ConsoleSession.csrfCookie]))
            #expect(Self.cookies(page)[ConsoleSession.csrfCookie]?.contains("Secure") == true)
            let login = try await api.request(.post, "/api/auth/session",
                                              json: ["email": .string(TestApp.adminEmail), "password": .string(TestApp.adminPassword)],
                                              headers: [Self.cookieName: "persona_csrf=\(csrf)", ConsoleSession.csrfHeader: csrf])
            #expect(Self.cookies(login)[ConsoleSession.refreshCookie]?.contains("Secure") == true)
        }
    }
}
