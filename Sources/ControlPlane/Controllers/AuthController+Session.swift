import Console
import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage

/// The browser's session (`/api/auth/session`): the same login and refresh rotation as
/// `/api/auth/login` and `/refresh`, with the refresh token in an HttpOnly, SameSite=Strict
/// cookie scoped to this path instead of the body, so the console's scripts never hold it.
/// Every request the cookie authenticates must carry the CSRF token (``ConsoleSession/verify(_:)``).
extension AuthController {
    /// What the browser gets: the access token (kept in the page's memory) and the user.
    struct SessionTokens: Codable, Sendable {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var user: UserDTO
    }

    func addSessionRoutes(public group: RouterGroup<AppRequestContext>, authenticated: RouterGroup<AppRequestContext>,
                          secureCookies: Bool) {
        group.post("session") { request, context in
            try requireCSRF(request)
            let body = try await request.decodeJSON(LoginBody.self, limit: 16_384)
            let address = context.clientAddress(request.headers[.xForwardedFor], trustProxy: trustProxy)
            let pair = try await auth.login(email: body.email, password: body.password, context: context,
                                            address: address, userAgent: request.headers[.userAgent])
            return try sessionResponse(pair, request: request, secureCookies: secureCookies)
        }
        group.post("session/refresh") { request, context in
            try requireCSRF(request)
            guard let token = request.cookies[ConsoleSession.refreshCookie]?.value, !token.isEmpty else {
                throw APIError(.unauthorized, code: "invalid_refresh_token", "No session: sign in again")
            }
            do {
                let pair = try await auth.refresh(token: token, context: context)
                return try sessionResponse(pair, request: request, secureCookies: secureCookies)
            } catch let error as APIError where error.status == .unauthorized {
                // A stale cookie is dropped, so the next page load goes straight to sign-in.
                var response = try JSONResponse.raw(ErrorPayload(error: error.message, code: error.code, traceId: context.trace.traceId),
                                                    status: error.status, headers: error.headers)
                response.setCookie(refreshCookie("", maxAge: 0, request: request, secureCookies: secureCookies))
                return response
            }
        }
        authenticated.delete("session") { request, context in
            try await auth.logout(context: context)
            var response = JSONResponse.noContent()
            response.setCookie(refreshCookie("", maxAge: 0, request: request, secureCookies: secureCookies))
            return response
        }
    }

    private func requireCSRF(_ request: Request) throws {
        guard ConsoleSession.verify(request) else {
            throw APIError(.forbidden, code: "csrf_failed",
                           "The request lacks the console's CSRF token (X-CSRF-Token must equal the persona_csrf cookie) or comes from another origin")
        }
    }

    private func sessionResponse(_ pair: TokenPair, request: Request, secureCookies: Bool) throws -> Response {
        var response = try JSONResponse.data(SessionTokens(accessToken: pair.accessToken, expiresIn: pair.expiresIn, user: pair.user))
        response.setCookie(refreshCookie(pair.refreshToken, maxAge: Int(auth.tokens.refreshLifetime), request: request,
                                         secureCookies: secureCookies))
        return response
    }

    private func refreshCookie(_ value: String, maxAge: Int, request: Request, secureCookies: Bool) -> Cookie {
        Cookie(name: ConsoleSession.refreshCookie, value: value, maxAge: maxAge, path: ConsoleSession.cookiePath,
               secure: ConsoleSession.secure(request, trustProxy: trustProxy, forced: secureCookies), httpOnly: true,
               sameSite: .strict)
    }
}
