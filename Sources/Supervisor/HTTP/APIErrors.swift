import NIOHTTP1
import PersonaKit

/// Error bodies: `{error, code, traceId}`, as everywhere on the platform.
enum APIErrors {
    static func response(_ error: SupervisorError, traceId: String) -> APIResponse {
        let payload = ErrorPayload(error: error.message, code: error.code, traceId: traceId)
        let body = (try? Array(SupervisorJSON.encoder.encode(payload))) ?? []
        return APIResponse(status: HTTPResponseStatus(statusCode: error.status), headers: [("Content-Type", "application/json")], body: body)
    }
}
