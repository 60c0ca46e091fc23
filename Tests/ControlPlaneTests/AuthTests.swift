import ControlPlane
import Foundation
import HTTPTypes
import PersonaKit
import Testing
import TestSupport

@Suite("Authentication")
struct AuthTests {
    @Test("login returns tokens and the user; /users/me answers with the token", arguments: TestBackend.allCases)
    func loginAndMe(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let response = try await api.post("/api/auth/login", json: ["email": "Admin@Example.com", "password": .string(TestApp.adminPassword)])
            #expect(response.status == .ok)
            #expect(response.data?["user"]?["role"] == "admin")
            #expect(response.data?["expiresIn"]?.intValue == 86_400)
            #expect(response.headers[.cacheControl] == "no-store")
            let token = try #require(response.data?["accessToken"]?.stringValue)
            let me = try await api.get("/api/users/me", token: token)
            #expect(me.status == .ok)
            #expect(me.data?["email"] == "admin@example.com")
            #expect(me.data?["passwordHash"] == nil)
            #expect(!me.body.contains("$2b$"))
        }
    }

    @Test("a wrong email and a wrong password are indistinguishable", arguments: TestBackend.allCases)
    func wrongCredentials(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let badPassword = try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": "not the password"])
            let badEmail = try await api.post("/api/auth/login", json: ["email": "nobody@example.com", "password": "not the password"])
            #expect(badPassword.status == .unauthorized)
            #expect(badEmail.status == .unauthorized)
            #expect(badPassword.code == "invalid_credentials")
            #expect(badPassword.json?["error"] == badEmail.json?["error"])
            #expect(badPassword.code == badEmail.code)
        }
    }

    @Test("missing, malformed and forged tokens get 401", arguments: TestBackend.allCases)
    func badTokens(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            #expect(try await api.get("/api/users/me").status == .unauthorized)
            #expect(try await api.get("/api/users/me", token: "not-a-jwt").status == .unauthorized)
            let (access, _) = try await api.login()
            var forged = Array(access)
            forged[forged.count - 3] = forged[forged.count - 3] == "A" ? "B" : "A"
            let response = try await api.get("/api/users/me", token: String(forged))
            #expect(response.status == .unauthorized)
            #expect(response.code == "invalid_token")
            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
        }
    }

    @Test("refresh rotates the token; the old one no longer works", arguments: TestBackend.allCases)
    func refreshRotates(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let (_, refresh) = try await api.login()
            let first = try await api.post("/api/auth/refresh", json: ["refreshToken": .string(refresh)])
            #expect(first.status == .ok)
            let next = try #require(first.data?["refreshToken"]?.stringValue)
            #expect(next != refresh)
            let access = try #require(first.data?["accessToken"]?.stringValue)
            #expect(try await api.get("/api/users/me", token: access).status == .ok)
            let second = try await api.post("/api/auth/refresh", json: ["refreshToken": .string(next)])
            #expect(second.status == .ok)
        }
    }

    @Test("refresh token reuse revokes the whole family", arguments: TestBackend.allCases)
    func refreshReuseRevokesFamily(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let (_, original) = try await api.login()
            let rotated = try await api.post("/api/auth/refresh", json: ["refreshToken": .string(original)])
            let newRefresh = try #require(rotated.data?["refreshToken"]?.stringValue)
            let newAccess = try #require(rotated.data?["accessToken"]?.stringValue)
            // Replaying the rotated token is theft: the family (session) dies.
            let replay = try await api.post("/api/auth/refresh", json: ["refreshToken": .string(original)])
            #expect(replay.status == .unauthorized)
            #expect(replay.code == "invalid_refresh_token")
            #expect(try await api.post("/api/auth/refresh", json: ["refreshToken": .string(newRefresh)]).status == .unauthorized)
            #expect(try await api.get("/api/users/me", token: newAccess).status == .unauthorized)
            // A separate login (another family) is untouched.
            let (otherAccess, _) = try await api.login()
            #expect(try await api.get("/api/users/me", token: otherAccess).status == .ok)
            let admin = try await api.login().access
            let audit = try await api.get("/api/audit?type=auth.refresh_reuse", token: admin)
            #expect(audit.data?.arrayValue?.count == 1)
        }
    }

    @Test("logout revokes the access token at once and its refresh token", arguments: TestBackend.allCases)
    func logoutTakesEffectAtOnce(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let (access, refresh) = try await api.login()
            #expect(try await api.get("/api/users/me", token: access).status == .ok)
            #expect(try await api.post("/api/auth/logout", token: access).status == .noContent)
            #expect(try await api.get("/api/users/me", token: access).status == .unauthorized)
            #expect(try await api.post("/api/auth/refresh", json: ["refreshToken": .string(refresh)]).status == .unauthorized)
        }
    }

    @Test("disabling a user ends their sessions at once", arguments: TestBackend.allCases)
    func disableEndsSessions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let admin = try await api.login().access
            let user = try await api.makeUser("dora@example.com", adminToken: admin)
            #expect(try await api.get("/api/users/me", token: user.token).status == .ok)
            #expect(try await api.patch("/api/admin/users/\(user.id)", token: admin, json: ["isActive": false]).status == .ok)
            #expect(try await api.get("/api/users/me", token: user.token).status == .unauthorized)
            let again = try await api.post("/api/auth/login", json: ["email": "dora@example.com", "password": "password-for-dora@example.com"])
            #expect(again.status == .unauthorized)
        }
    }

    @Test("login is rate limited per account with Retry-After", arguments: TestBackend.allCases)
    func loginRateLimitPerAccount(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.loginLimit.maxPerAccount = 3 }) { api, _ in
            for _ in 0..<3 {
                #expect(try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": "wrong password!"]).status == .unauthorized)
            }
            let limited = try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": .string(TestApp.adminPassword)])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.code == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            // Another account is not affected by this account's failures.
            let admin2 = try await api.post("/api/auth/login", json: ["email": "someone@example.com", "password": "whatever it is"])
            #expect(admin2.status == .unauthorized)
        }
    }

    @Test("login is rate limited per client address", arguments: TestBackend.allCases)
    func loginRateLimitPerAddress(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.loginLimit.maxPerAddress = 4 }) { api, _ in
            for i in 0..<4 {
                #expect(try await api.post("/api/auth/login", json: ["email": .string("u\(i)@example.com"), "password": "wrong password!"]).status == .unauthorized)
            }
            let limited = try await api.post("/api/auth/login", json: ["email": .string(TestApp.adminEmail), "password": .string(TestApp.adminPassword)])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test("changing your password ends your other sessions but keeps this one", arguments: TestBackend.allCases)
    func passwordChange(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, _ in
            let (current, _) = try await api.login()
            let (other, _) = try await api.login()
            let wrong = try await api.patch("/api/users/me", token: current, json: ["currentPassword": "nope", "newPassword": "a brand new password"])
            #expect(wrong.status == .forbidden)
            let ok = try await api.patch("/api/users/me", token: current,
                                         json: ["currentPassword": .string(TestApp.adminPassword), "newPassword": "a brand new password"])
            #expect(ok.status == .ok)
            #expect(try await api.get("/api/users/me", token: current).status == .ok)
            #expect(try await api.get("/api/users/me", token: other).status == .unauthorized)
            _ = try await api.login(TestApp.adminEmail, "a brand new password")
        }
    }
}
