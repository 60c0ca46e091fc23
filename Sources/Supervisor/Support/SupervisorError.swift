import PersonaCore

/// The one error type of the supervisor: a machine code, a message for people, the HTTP
/// status it maps to, and (for the log only) the underlying cause.
public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    /// Stable machine-readable code (`unknown_tool`, `validation_failed`, `path_outside_workspace`, ...).
    public var code: String
    /// Human message; safe to show to a client (no secrets, no driver text).
    public var message: String
    /// HTTP status the API answers with.
    public var status: Int
    /// What went wrong underneath, for `String(reflecting:)` in the log; never sent to a client.
    public var underlying: (any Error)?

    public init(_ code: String, _ message: String, status: Int = 500, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.underlying = underlying
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(String(reflecting: underlying)))" }
        return text
    }

    static func badRequest(_ message: String, code: String = "bad_request") -> SupervisorError {
        SupervisorError(code, message, status: 400)
    }

    static func notFound(_ message: String, code: String = "not_found") -> SupervisorError {
        SupervisorError(code, message, status: 404)
    }

    /// An errno-carrying failure of a system call, wrapped where it happened.
    static func system(_ what: String, errno value: Int32, code: String = "system_error", status: Int = 500) -> SupervisorError {
        SupervisorError(code, what, status: status, underlying: Errno(value))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
