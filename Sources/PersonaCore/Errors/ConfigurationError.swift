/// A configuration problem that stops a process from starting (a bad `DATABASE_URL`, a weak
/// secret in production): its description says what to change.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
