import PersonaCore

/// The single error type of the `Embeddings` module.
///
/// `code` is a stable machine-readable value, `message` a human sentence that never
/// contains model data, and `underlying` the lower-level error that caused it, if any.
public struct EmbeddingsError: Error, Sendable, CustomStringConvertible {
    /// Stable, machine-readable error codes.
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A model file (weights or vocabulary) is missing or cannot be read.
        public static let modelNotFound = Code(rawValue: "model_not_found")
        /// A model file exists but its contents are malformed or unexpected.
        public static let invalidModel = Code(rawValue: "invalid_model")
        /// An argument passed to the API is out of range.
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// A remote or local backend failed while computing embeddings.
        public static let backendFailure = Code(rawValue: "backend_failure")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the stable code.
    ///   - message: a human-readable explanation.
    ///   - underlying: the error that caused this one, if any.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying {
            return "\(code): \(message) (caused by: \(underlying))"
        }
        return "\(code): \(message)"
    }
}
