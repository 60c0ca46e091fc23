/// Namespace of the typed Docker Engine API client.
///
/// Start with ``Docker/Client/connect(to:configuration:logger:)``; everything the
/// Engine returns is decoded into the Codable models under this namespace, and
/// everything it refuses is a ``DockerError``.
public enum Docker {}

extension Docker {
    /// An Engine API version such as `1.41`, ordered numerically (`1.9 < 1.41`).
    public struct APIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var major: Int
        public var minor: Int

        public init(major: Int, minor: Int) {
            self.major = major
            self.minor = minor
        }

        /// Parses `"1.41"`; returns `nil` for anything else.
        public init?(_ string: String) {
            let parts = string.split(separator: ".")
            guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else {
                return nil
            }
            self.init(major: major, minor: minor)
        }

        public var description: String { "\(major).\(minor)" }

        public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
            (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
        }

        /// Debian 12's `docker.io` (Engine 20.10) speaks 1.41: the oldest version we accept.
        public static let minimum = APIVersion(major: 1, minor: 41)
        /// The newest version this client asks for; newer engines are spoken to in this version.
        public static let maximum = APIVersion(major: 1, minor: 45)
    }
}
