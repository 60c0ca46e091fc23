import Crypto
import Foundation
import PersonaKit
import SQLKit

/// What a persona's container runs: the image and its sidecars. Applied when the container is
/// (re)started.
public struct PersonaRuntime: Codable, Sendable, Equatable {
    /// The images a persona may choose; each maps to a tag from the configuration, so nobody
    /// can run an arbitrary image through the API.
    public enum Image: String, Codable, Sendable, CaseIterable {
        /// `PERSONA_IMAGE`: the supervisor and the core tools.
        case standard
        /// `PERSONA_DESKTOP_IMAGE`: plus chromium + Playwright and Xvfb + x11vnc (browser_* and
        /// desktop_* tools, a VNC desktop).
        case desktop
    }

    public var image: Image
    /// `browser` and/or `desktop`: started at boot and never stopped for idleness.
    public var eagerSidecars: [String]
    /// Chromium runs headed on the desktop, watchable over VNC.
    public var browserHeaded: Bool
    /// Sidecars unused this long are stopped (0: never).
    public var sidecarIdleSeconds: Int
    /// When the settings were last changed (`nil`: never, the defaults).
    package var updatedAt: Date?

    public static let `default` = PersonaRuntime(image: .standard, eagerSidecars: [], browserHeaded: false, sidecarIdleSeconds: 900)

    package init(image: Image, eagerSidecars: [String], browserHeaded: Bool, sidecarIdleSeconds: Int) {
        self.image = image
        self.eagerSidecars = eagerSidecars
        self.browserHeaded = browserHeaded
        self.sidecarIdleSeconds = sidecarIdleSeconds
    }

    package init(row: any SQLRow) throws {
        image = Image(rawValue: try row.decode(column: "image", as: String.self)) ?? .standard
        eagerSidecars = (try? JSONCoding.decode([String].self, from: try row.decode(column: "eager_sidecars", as: String.self))) ?? []
        browserHeaded = try row.decode(column: "browser_headed", as: Bool.self)
        sidecarIdleSeconds = try row.decode(column: "sidecar_idle_seconds", as: Int.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
    }

    /// Refuses combinations the image cannot run.
    package func validate() throws {
        for name in eagerSidecars where !["browser", "desktop"].contains(name) {
            throw APIError.validation("eagerSidecars may list \"browser\" and \"desktop\", not \"\(name)\"")
        }
        guard Set(eagerSidecars).count == eagerSidecars.count else { throw APIError.validation("eagerSidecars lists a sidecar twice") }
        guard (0...86_400).contains(sidecarIdleSeconds) else {
            throw APIError.validation("sidecarIdleSeconds must be from 0 (never) to 86400")
        }
        if image == .standard && (!eagerSidecars.isEmpty || browserHeaded) {
            throw APIError.unprocessable("The standard image has no browser or desktop; choose the desktop image for eagerSidecars or browserHeaded")
        }
    }

    /// The supervisor's environment for these settings (nothing secret).
    package var environment: [String: String] {
        var out = ["PERSONA_SIDECAR_IDLE_SECONDS": String(sidecarIdleSeconds)]
        if !eagerSidecars.isEmpty { out["PERSONA_SIDECARS_EAGER"] = eagerSidecars.joined(separator: ",") }
        if browserHeaded { out["PERSONA_BROWSER_HEADED"] = "1" }
        return out
    }

    /// The VNC password of a container: derived from its token, so it changes with every
    /// container and is never stored. VNC authentication uses 8 characters at most.
    package static func vncPassword(containerToken: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("persona-vnc-password".utf8), using: SymmetricKey(data: Data(containerToken.utf8)))
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        return String(Array(mac).prefix(8).map { alphabet[Int($0) % alphabet.count] })
    }
}

