import HTTPTypes

/// An error meant for an API client: status, stable code and a human message. Services of
/// every layer throw it for what the client did wrong or must wait for; the HTTP layer renders it
/// (the control plane's `ErrorMiddleware`) as `{error, code, traceId}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "APIError(\(status.code) \(code)): \(message)" }

    public static func validation(_ message: String) -> APIError { APIError(.badRequest, code: "validation_failed", message) }
    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, code: "bad_request", message) }
    public static func unauthorized(_ message: String = "Authentication required") -> APIError {
        APIError(.unauthorized, code: "unauthorized", message, headers: [.wwwAuthenticate: "Bearer"])
    }
    public static func forbidden(_ message: String = "You are not allowed to do this") -> APIError {
        APIError(.forbidden, code: "forbidden", message)
    }
    public static func notFound(_ what: String) -> APIError { APIError(.notFound, code: "not_found", "\(what) not found") }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, code: "conflict", message) }
    public static func tooLarge(_ message: String) -> APIError { APIError(.contentTooLarge, code: "payload_too_large", message) }
    public static func unprocessable(_ message: String) -> APIError { APIError(.unprocessableContent, code: "unprocessable", message) }
    public static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, code: "unavailable", message) }
    public static func rateLimited(retryAfter seconds: Int, _ message: String = "Too many requests") -> APIError {
        APIError(.tooManyRequests, code: "rate_limited", message, headers: [.retryAfter: String(max(1, seconds))])
    }
}
