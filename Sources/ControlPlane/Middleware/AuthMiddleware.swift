import Hummingbird
import HTTPTypes

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

/// The seed's general rate limit (`RATE_LIMIT_*`): per bearer token when one is sent,
/// otherwise per client address. 429 with `Retry-After` past the limit.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let services: AppServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let key: String
        if let header = request.headers[.authorization], header.count > 7 {
            key = "t:" + services.tokens.hashRefreshToken(String(header.dropFirst(7)))
        } else {
            key = "a:" + services.clientAddress(request.headers[.xForwardedFor], context: context)
        }
        let decision = services.requestLimiter.hit(key)
        guard decision.allowed else { throw APIError.rateLimited(retryAfter: decision.retryAfter) }
        var response = try await next(request, context)
        response.headers[HTTPField.Name("X-RateLimit-Limit")!] = String(services.configuration.rateLimit.maxRequests)
        response.headers[HTTPField.Name("X-RateLimit-Remaining")!] = String(decision.remaining)
        return response
    }
}
