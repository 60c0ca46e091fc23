/// The one error body every Persona Platform HTTP surface answers with:
/// `{"error": "human message", "code": "machine_code", "traceId": "32-hex"}`.
public struct ErrorPayload: Codable, Sendable, Equatable {
    /// A message meant for people; never a driver error, stack trace or secret.
    public var error: String
    /// A stable machine-readable code (`validation_failed`, `not_found`, ...).
    public var code: String
    /// The W3C trace id of the request that failed.
    public var traceId: String

    public init(error: String, code: String, traceId: String) {
        self.error = error
        self.code = code
        self.traceId = traceId
    }
}

/// The success envelope: `{"data": ...}`, plus `nextCursor` on paged lists.
public struct DataEnvelope<Value: Codable & Sendable>: Codable, Sendable {
    public var data: Value
    public var nextCursor: String?

    public init(data: Value, nextCursor: String? = nil) {
        self.data = data
        self.nextCursor = nextCursor
    }
}
