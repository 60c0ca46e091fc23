import Foundation
import Hummingbird
import Logging
import NIOCore
import PersonaKit
import PersonaStorage

/// Per-request state: trace context, the authenticated user and the client address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's span; ``TraceMiddleware`` replaces the placeholder with the caller's
    /// trace (or a new one) before anything else runs.
    public var trace: TraceContext
    public var identity: AuthenticatedUser?
    /// The peer address of the connection (`nil` in router tests).
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.trace = .newRoot()
        self.identity = nil
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The authenticated user, or a 401 when the route was reached without one.
    public func requireUser() throws -> AuthenticatedUser {
        guard let identity else { throw APIError.unauthorized() }
        return identity
    }

    /// The authenticated user if it is an admin, 403 otherwise.
    public func requireAdmin() throws -> AuthenticatedUser {
        let user = try requireUser()
        guard user.role == .admin else { throw APIError.forbidden("Administrator role required") }
        return user
    }

    /// The client address: the peer, or the first `X-Forwarded-For` hop behind a trusted proxy.
    func clientAddress(_ forwardedFor: String?, trustProxy: Bool) -> String {
        if trustProxy, let first = forwardedFor?.split(separator: ",").first {
            return first.trimmingCharacters(in: .whitespaces)
        }
        return peerAddress ?? "local"
    }
}
