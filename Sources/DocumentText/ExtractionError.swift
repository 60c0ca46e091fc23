import PersonaCore

/// The single error type of the `DocumentText` module.
///
/// `code` is stable and machine-readable; `message` is a sentence fit to show to an API
/// user (it names the file type and what was wrong, never a path on this machine or a
/// stack trace); `underlying` keeps the lower-level error for the logs.
public struct ExtractionError: Error, Sendable, CustomStringConvertible {
    /// Stable, machine-readable error codes.
    public struct Code: ErrorCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The file is of a type that cannot be extracted (image, legacy Office, unknown).
        public static let unsupportedType = Code(rawValue: "unsupported_type")
        /// The file claims a supported type but its contents are malformed.
        public static let corruptFile = Code(rawValue: "corrupt_file")
        /// The file, an archive member, the decompressed data or the text exceeds a limit.
        public static let tooLarge = Code(rawValue: "too_large")
        /// Extraction failed for another reason (unreadable file, external tool failure).
        public static let extractionFailed = Code(rawValue: "extraction_failed")
        /// A program needed for this type (`pdftotext`) is not installed.
        public static let toolMissing = Code(rawValue: "tool_missing")
        /// A ``TextChunker`` or ``TextExtractor`` configuration is out of range.
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A human-readable explanation, safe to return to an API client.
    public var message: String
    /// The error that caused this one, if any (for logs, not for clients).
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the stable code.
    ///   - message: a human-readable explanation, safe for API clients.
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
