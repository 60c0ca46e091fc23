import PersonaCore

/// The one error type of the `DockerEngine` module.
///
/// Engine answers that are not a success become a `DockerError` whose ``code``
/// says what went wrong for the resource asked about (a 404 on
/// `/containers/{id}/json` is ``Code/noSuchContainer``), whose ``message`` is
/// the engine's own `{"message": ...}` text, and whose ``underlying`` keeps a
/// transport error where there was one.
public struct DockerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    /// Its raw values are this client library's own (`noSuchContainer`, as its event stream
    /// has always printed them); the control plane maps them to the API's snake_case codes.
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// 404 on a container route.
        public static let noSuchContainer: Code = "noSuchContainer"
        /// 404 on an image route, or an image a container create names is missing.
        public static let noSuchImage: Code = "noSuchImage"
        /// 404 on a network route.
        public static let noSuchNetwork: Code = "noSuchNetwork"
        /// 404 on a volume route.
        public static let noSuchVolume: Code = "noSuchVolume"
        /// 404 on an exec route.
        public static let noSuchExec: Code = "noSuchExec"
        /// 404 on any other route.
        public static let notFound: Code = "notFound"
        /// 409: name in use, container running, image in use...
        public static let conflict: Code = "conflict"
        /// 304: the container was already started, stopped, paused...
        public static let notModified: Code = "notModified"
        /// 400: the engine refused the parameters.
        public static let badRequest: Code = "badRequest"
        /// 401 or 403.
        public static let forbidden: Code = "forbidden"
        /// 5xx, or any other unexpected status.
        public static let server: Code = "server"
        /// No engine answered: missing socket, connection refused, TLS failure, dropped connection.
        public static let engineUnreachable: Code = "engineUnreachable"
        /// The engine answered too late.
        public static let timeout: Code = "timeout"
        /// The engine speaks an API version older than ``Docker/APIVersion/minimum``.
        public static let unsupportedAPIVersion: Code = "unsupportedAPIVersion"
        /// The engine's answer could not be decoded.
        public static let invalidResponse: Code = "invalidResponse"
        /// An image build reported an error in its progress stream.
        public static let buildFailed: Code = "buildFailed"
        /// The client configuration is unusable (bad `DOCKER_HOST`, unreadable certificates...).
        public static let invalidConfiguration: Code = "invalidConfiguration"
        /// The client was already shut down.
        public static let shutDown: Code = "shutDown"
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable message, the engine's own where it sent one.
    public var message: String
    /// The HTTP status of the engine's answer, when there was one.
    public var statusCode: Int?
    /// The transport or decoding error behind this one, if any.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, statusCode: Int? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.underlying = underlying
    }

    public var description: String {
        var text = "DockerError.\(code): \(message)"
        if let statusCode { text += " (HTTP \(statusCode))" }
        if let underlying { text += " [\(String(describing: underlying))]" }
        return text
    }
}
