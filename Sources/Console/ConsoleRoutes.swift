import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The browser session's cookies and the CSRF check the session routes make.
///
/// The refresh token travels in `persona_refresh` (HttpOnly, SameSite=Strict, scoped to
/// `/api/auth/session`); the access token stays in the page's memory. `persona_csrf` is a
/// random value the page reads and sends back as `X-CSRF-Token` on every request the refresh
/// cookie authenticates (double submit): another site can make the browser send the cookie
/// (it cannot: SameSite=Strict) but never read it.
public enum ConsoleSession {
    public static let refreshCookie = "persona_refresh"
    public static let csrfCookie = "persona_csrf"
    public static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    public static let cookiePath = "/api/auth/session"

    /// Whether a cookie-authenticated request comes from a page of this console: its
    /// `X-CSRF-Token` equals the `persona_csrf` cookie, and its `Origin` (browsers send it on
    /// every POST and DELETE) names this host.
    public static func verify(_ request: Request) -> Bool {
        guard let cookie = request.cookies[csrfCookie]?.value, cookie.count >= 32,
              let header = request.headers[csrfHeader],
              Data(cookie.utf8).count == Data(header.utf8).count,
              zip(cookie.utf8, header.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else { return false }
        if let origin = request.headers[.origin] {
            guard let host = request.head.authority,
                  let url = URL(string: origin), let originHost = url.host
            else { return false }
            let port = url.port.map { ":\($0)" } ?? ""
            return originHost + port == host
        }
        return true
    }

    /// A new CSRF value: 32 random bytes, hex.
    public static func makeCSRFToken() -> String {
        ConsoleAssets.hex(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    /// Whether cookies should carry `Secure`: the request came over TLS to a proxy we trust
    /// (`X-Forwarded-Proto: https`), or the operator says so.
    public static func secure(_ request: Request, trustProxy: Bool, forced: Bool) -> Bool {
        forced || (trustProxy && request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https")
    }

    public static func csrf(_ value: String, secure: Bool) -> Cookie {
        Cookie(name: csrfCookie, value: value, path: "/", secure: secure, httpOnly: false, sameSite: .strict)
    }
}

/// Serves the console: every page at its route and the static files under
/// `/console/static/<version>/`.
public struct ConsoleRoutes: Sendable {
    public let site: ConsoleSite
    public let trustProxy: Bool
    public let secureCookies: Bool

    public init(site: ConsoleSite, trustProxy: Bool, secureCookies: Bool) {
        self.site = site
        self.trustProxy = trustProxy
        self.secureCookies = secureCookies
    }

    /// The pages' policy: nothing inline, nothing from elsewhere.
    public static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        + "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for page in ConsolePage.all {
            router.get(RouterPath(page.path.isEmpty ? "/" : page.path)) { request, context in
                var parameters: [String: String] = [:]
                if let id = context.parameters.get("id") { parameters["id"] = id }
                return pageResponse(page, parameters: parameters, request: request)
            }
        }
        router.get("console/static/{version}/**") { request, context in
            let path = context.parameters.getCatchAll().joined(separator: "/")
            guard context.parameters.get("version") == site.assets.version, let asset = site.assets.files[path] else {
                throw HTTPError(.notFound, message: "No such console file")
            }
            return staticResponse(asset, request: request)
        }
        router.get("favicon.ico") { _, _ in
            Response(status: .movedPermanently, headers: [.location: "/console/static/\(site.assets.version)/icon.svg"])
        }
    }

    func pageResponse(_ page: ConsolePage, parameters: [String: String], request: Request) -> Response {
        let html = site.render(page, parameters: parameters)
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-cache",
            HTTPField.Name("Content-Security-Policy")!: Self.contentSecurityPolicy,
        ]
        let etag = "\"" + ConsoleAssets.hex(SHA256.hash(data: Data(html.utf8)).prefix(16)) + "\""
        headers[.eTag] = etag
        var response: Response
        if request.headers[.ifNoneMatch] == etag {
            response = Response(status: .notModified, headers: headers)
        } else {
            response = Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        if request.cookies[ConsoleSession.csrfCookie] == nil {
            let secure = ConsoleSession.secure(request, trustProxy: trustProxy, forced: secureCookies)
            response.setCookie(ConsoleSession.csrf(ConsoleSession.makeCSRFToken(), secure: secure))
        }
        return response
    }

    func staticResponse(_ asset: ConsoleAsset, request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .cacheControl: "public, max-age=31536000, immutable",
            .eTag: asset.etag,
            .vary: "Accept-Encoding",
        ]
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        if let gzip = asset.gzip, request.headers[.acceptEncoding]?.contains("gzip") == true {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: gzip))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }
}
