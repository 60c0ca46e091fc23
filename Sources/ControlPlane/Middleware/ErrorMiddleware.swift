import Hummingbird
import HTTPTypes
import Logging
import PersonaKit
import PersonaStorage

/// Turns every error into the one error shape, `{error, code, traceId}`. Errors that are
/// not ``APIError`` or Hummingbird's own become a 500 whose details go to the log only.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.classify(error, logger: context.logger)
            var response = try JSONResponse.raw(
                ErrorPayload(error: apiError.message, code: apiError.code, traceId: context.trace.traceId),
                status: apiError.status, headers: apiError.headers)
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    static func classify(_ error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let message = error.body ?? error.status.reasonPhrase
            switch error.status {
            case .notFound: return APIError(.notFound, code: "not_found", "No such route")
            case .contentTooLarge: return .tooLarge("Request body is too large")
            case .methodNotAllowed: return APIError(.methodNotAllowed, code: "method_not_allowed", "Method not allowed")
            case .badRequest: return .badRequest(message)
            case .unauthorized: return .unauthorized()
            default:
                return APIError(error.status, code: error.status.code >= 500 ? "internal_error" : "bad_request", message)
            }
        case let error as StorageError where error.code == .unavailable:
            logger.error("database unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return .unavailable("The database is unavailable; try again shortly")
        case let error as StorageError where error.code == .conflict:
            return .conflict("That conflicts with an existing record")
        case let error as StorageError where error.code == .missingReference:
            // A foreign key refused the write: what it refers to was removed meanwhile (or
            // never existed). The client can re-read and retry; nothing was written.
            logger.info("write refused by a foreign key", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(.conflict, code: "missing_reference", "A record this refers to does not exist (any more)")
        default:
            logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(.internalServerError, code: "internal_error", "Internal server error")
        }
    }
}
