import Crypto
import Foundation
import Synchronization
import JWTKit
import PersonaCore
import PersonaStorage

/// Claims of an access token: the user, the session that must still be open, the role.
struct AccessClaims: JWTPayload, Equatable {
    var sub: SubjectClaim
    var sid: String
    var role: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var iss: IssuerClaim

    static let issuer = "persona-control-plane"

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard iss.value == Self.issuer else { throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "wrong issuer") }
    }
}

/// Signs and verifies access tokens (HS256 under `JWT_SECRET`) and makes opaque refresh
/// tokens, stored only as their HMAC under `JWT_REFRESH_SECRET`.
struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    /// Tokens whose signature and claims were verified, until their `exp`: a token's claims
    /// never change, and `JWTKeyCollection` is an actor, so every request would otherwise
    /// queue on it. Revocation is unaffected: the session is checked on every request.
    private let verified = VerifiedTokens()
    private let refreshKey: SymmetricKey
    let accessLifetime: Double
    let refreshLifetime: Double

    init(configuration: AppConfiguration) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: SymmetricKey(data: configuration.jwtSecret)), digestAlgorithm: .sha256)
        self.keys = keys
        self.refreshKey = SymmetricKey(data: configuration.jwtRefreshSecret)
        self.accessLifetime = configuration.accessTokenLifetime
        self.refreshLifetime = configuration.refreshTokenLifetime
    }

    func signAccessToken(userId: String, sessionId: String, role: UserRole, now: Date) async throws -> String {
        try await keys.sign(AccessClaims(
            sub: .init(value: userId), sid: sessionId, role: role.rawValue,
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(accessLifetime)),
            iss: .init(value: AccessClaims.issuer)))
    }

    /// The claims of a valid, unexpired token; `nil` for anything else.
    func verifyAccessToken(_ token: String) async -> AccessClaims? {
        let now = Date()
        if let claims = verified.claims(for: token, now: now) { return claims }
        guard let claims = try? await keys.verify(token, as: AccessClaims.self) else { return nil }
        verified.insert(claims, for: token)
        return claims
    }

    /// A new opaque refresh token (256 random bits, base64url) and the hash to store.
    func makeRefreshToken() -> (token: String, hash: String) {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let token = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return (token, hashRefreshToken(token))
    }

    func hashRefreshToken(_ token: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: refreshKey).hexString
    }
}

/// A bounded map of verified access tokens to their claims.
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: AccessClaims]>([:])
    static let capacity = 10_000

    func claims(for token: String, now: Date) -> AccessClaims? {
        entries.withLock { entries in
            guard let claims = entries[token] else { return nil }
            guard claims.exp.value > now else {
                entries[token] = nil
                return nil
            }
            return claims
        }
    }

    func insert(_ claims: AccessClaims, for token: String) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = claims
        }
    }
}
