import PersonaKit
import Synchronization

/// The persona's secrets, fetched from the control plane at start and held in memory only
/// (never written to disk, never in the container's `Env`). A tool sees only the secrets its
/// manifest declares.
public final class SecretStore: Sendable {
    private let values = Mutex<[String: String]?>(nil)
    private let vnc = Mutex<String?>(nil)
    private let source = Mutex<(@Sendable () async -> SecretsResponse?)?>(nil)

    public init(_ initial: [String: String]? = nil, vncPassword: String? = nil) {
        values.withLock { $0 = initial }
        vnc.withLock { $0 = vncPassword }
    }

    /// Replaces every secret.
    public func replace(with secrets: [String: String], vncPassword: String? = nil) {
        values.withLock { $0 = secrets }
        vnc.withLock { $0 = vncPassword }
    }

    /// Where ``refresh()`` fetches the current secrets (the control plane's secret channel).
    public func setSource(_ fetch: @escaping @Sendable () async -> SecretsResponse?) {
        source.withLock { $0 = fetch }
    }

    /// Fetches the secrets again, so a tool that declares secrets sees values (and connectors)
    /// changed since the supervisor started. On failure the values held stay; returns whether
    /// the fetch succeeded.
    @discardableResult
    public func refresh() async -> Bool {
        guard let fetch = source.withLock({ $0 }), let response = await fetch() else { return false }
        replace(with: response.secrets, vncPassword: response.vncPassword ?? vncPassword)
        return true
    }

    /// The desktop's VNC password (for x11vnc's password file only; no tool sees it).
    public var vncPassword: String? { vnc.withLock { $0 } }

    /// Whether secrets have been fetched at least once.
    public var isLoaded: Bool { values.withLock { $0 != nil } }

    /// The declared `names` that exist, as environment entries.
    public func environment(for names: [String]) -> [String: String] {
        values.withLock { stored in
            var out: [String: String] = [:]
            for name in names { if let value = stored?[name] { out[name] = value } }
            return out
        }
    }
}
