import Hummingbird
import HTTPTypes
import PersonaKit

/// Requires a valid bearer access token whose session is still open; sets
/// `context.identity`. Anything else is a 401.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else {
            throw APIError.unauthorized()
        }
        guard let user = try await auth.authenticate(bearer: String(header.dropFirst(7))) else {
            throw APIError(.unauthorized, code: "invalid_token", "Access token is invalid, expired or revoked",
                           headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        var context = context
        context.identity = user
        context.logger[metadataKey: "user_id"] = .string(user.id)
        return try await next(request, context)
    }
}

