import Hummingbird
import HTTPTypes
import PersonaKit

/// The seed's general rate limit (`RATE_LIMIT_*`): per bearer token when one is sent,
/// otherwise per client address. 429 with `Retry-After` past the limit.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let configuration: AppConfiguration
    let tokens: TokenService
    let requestLimiter: RateLimiter
    /// Take the client address from `X-Forwarded-For` (`TRUST_PROXY`).
    let trustProxy: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The console's static files: served from memory, cached by browsers for a year; a
        // first visit loads a dozen of them and must not spend the address's budget.
        if request.uri.path.hasPrefix("/console/static/") { return try await next(request, context) }
        let key: String
        if let header = request.headers[.authorization], header.count > 7 {
            key = "t:" + tokens.hashRefreshToken(String(header.dropFirst(7)))
        } else {
            key = "a:" + context.clientAddress(request.headers[.xForwardedFor], trustProxy: trustProxy)
        }
        let decision = requestLimiter.hit(key)
        guard decision.allowed else { throw APIError.rateLimited(retryAfter: decision.retryAfter) }
        var response = try await next(request, context)
        response.headers[HTTPField.Name("X-RateLimit-Limit")!] = String(configuration.rateLimit.maxRequests)
        response.headers[HTTPField.Name("X-RateLimit-Remaining")!] = String(decision.remaining)
        return response
    }
}
