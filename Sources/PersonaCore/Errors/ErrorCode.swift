/// The one convention for machine-readable error codes, in every module of both processes:
/// a module's error type is a struct with a `code`, a human `message` and (for the log only)
/// an `underlying` cause; its codes are a nested `Code` type conforming to this protocol,
/// whose raw values are stable snake_case strings (`not_found`, `missing_reference`), the
/// same text a client sees in `{error, code, traceId}`. Modules declare their codes as
/// `static let`s on their own `Code`, so two modules never share a namespace, and a code
/// can also be written as a string literal where it is used once.
public protocol ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral
where RawValue == String, StringLiteralType == String {
    init(rawValue: String)
}

extension ErrorCode {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }
}

/// The shared core's error: opening a log file, the SQLite layer's misuse checks.
public struct CoreError: Error, Sendable, CustomStringConvertible {
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let logFileUnavailable: Code = "log_file_unavailable"
    }

    public var code: Code
    public var message: String
    /// What went wrong underneath, for `String(reflecting:)` in the log.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        "\(code): \(message)" + (underlying.map { " (\(String(reflecting: $0)))" } ?? "")
    }
}
