import Containers
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import PersonaKit
import PersonaStorage

/// `GET /api/personas/{id}/desktop/vnc` (WebSocket, subprotocol `binary`): the persona's
/// desktop for the console's noVNC viewer.
///
/// The socket carries RFB, proxied to the persona's x11vnc. The proxy does the VNC password
/// authentication itself and offers the browser security type None, so the password never
/// leaves the control plane. Authentication, as on `/api/ws`, never uses the query string: the
/// subprotocols are `binary, bearer.<access token>` (the server selects `binary`). Only
/// editors and owners may open a desktop (it is full control of the persona's screen). The
/// socket is accepted and then closed with a reason when it may not go on: 4401 (no valid
/// token), 4403 (a viewer), 4404 (no such persona, or not visible), 4409 (no desktop: the
/// standard image, or the container is not ready), 4502 (the desktop's VNC server failed).
/// Opening and closing are audited (`desktop.session_opened`; `desktop.session_closed` with how it
/// ended, seconds and bytes each way).
struct DesktopSocketController: Sendable {
    typealias Context = BasicWebSocketRequestContext
    let database: Database
    let auth: AuthService
    let containers: ContainerManager
    let personas = PersonaRepository()
    let audit = AuditRepository()

    static let subprotocol = "binary"
    /// How long the two RFB handshakes may take together.
    static let handshakeTimeout: Duration = .seconds(15)

    func addRoutes(to router: Router<Context>) {
        router.ws("api/personas/{id}/desktop/vnc") { request, _ in
            guard EventSocketController.offeredProtocols(request.headers).contains(Self.subprotocol) else { return .dontUpgrade }
            return .upgrade([.secWebSocketProtocol: Self.subprotocol])
        } onUpgrade: { inbound, outbound, context in
            let personaId = context.requestContext.parameters.get("id") ?? ""
            try await serve(personaId: personaId, inbound: inbound, outbound: outbound, request: context.request,
                            logger: context.logger)
        }
    }

    /// Why a desktop socket is closed by the server.
    struct Refusal: Error {
        var code: UInt16
        var reason: String
        static func unauthorized(_ reason: String) -> Refusal { Refusal(code: 4401, reason: reason) }
    }

    private func serve(personaId: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request,
                       logger: Logger) async throws {
        let trace = request.headers[.traceparent].flatMap { TraceContext(traceparent: $0) }?.child() ?? .newRoot()
        do {
            let user = try await authorize(personaId: personaId, request: request)
            let endpoint: (host: String, port: Int, password: String, record: PersonaContainerRecord)
            do {
                endpoint = try await DesktopController.vncEndpoint(personaId, manager: containers, database: database, trace: trace)
            } catch let error as APIError {
                throw Refusal(code: 4409, reason: error.message)
            }
            // x11vnc (and Xvfb under it) start on demand: now, unless they run already.
            do {
                try await containers.supervisor(for: endpoint.record).startSidecar("x11vnc", trace: trace)
            } catch let error as APIError {
                throw Refusal(code: 4502, reason: "The desktop did not start: \(error.message)")
            }
            let started = ContinuousClock.now
            try await record(AuditEvent(userId: user.id, personaId: personaId, traceId: trace.traceId, eventType: "desktop.session_opened",
                                        eventCategory: "container", description: "Desktop opened in the console"))
            // Every session that was opened is closed in the audit log, however it ended.
            func closed(_ outcome: String, _ counts: RFBProxy.Counts) async {
                let seconds = Int((ContinuousClock.now - started).components.seconds)
                try? await record(AuditEvent(userId: user.id, personaId: personaId, traceId: trace.traceId, eventType: "desktop.session_closed",
                                             eventCategory: "container", description: "Desktop closed",
                                             metadata: ["outcome": .string(outcome), "seconds": .number(Double(seconds)),
                                                        "bytesToBrowser": .number(Double(counts.toBrowser)),
                                                        "bytesFromBrowser": .number(Double(counts.fromBrowser))]))
            }
            let counts: RFBProxy.Counts
            do {
                counts = try await RFBProxy(host: endpoint.host, port: endpoint.port, password: endpoint.password,
                                            handshakeTimeout: Self.handshakeTimeout, logger: logger)
                    .run(inbound: inbound, outbound: outbound)
            } catch let refusal as Refusal {
                await closed("refused \(refusal.code)", RFBProxy.Counts())
                throw refusal
            } catch {
                await closed("failed", RFBProxy.Counts())
                throw error
            }
            await closed("ended", counts)
        } catch let refusal as Refusal {
            logger.info("desktop socket refused", metadata: ["code": "\(refusal.code)", "reason": "\(refusal.reason)"])
            try? await outbound.close(.unknown(refusal.code), reason: String(refusal.reason.prefix(120)))
        }
    }

    /// The user behind the `bearer.` subprotocol, if they may drive this persona's desktop.
    private func authorize(personaId: String, request: Request) async throws -> AuthenticatedUser {
        guard let offered = EventSocketController.offeredProtocols(request.headers).first(where: { $0.hasPrefix("bearer.") }),
              let user = try await auth.authenticate(bearer: String(offered.dropFirst(7)))
        else { throw Refusal.unauthorized("access token is missing, invalid, expired or revoked") }
        guard let (_, role) = try await database.withConnection({ try await personas.access(personaId: personaId, user: user, on: $0) })
        else { throw Refusal(code: 4404, reason: "Persona not found") }
        guard role >= .editor else { throw Refusal(code: 4403, reason: "The desktop needs the editor role on the persona; you are \(role.rawValue)") }
        return user
    }

    private func record(_ event: AuditEvent) async throws {
        try await database.withConnection { try await audit.insert(event, on: $0) }
    }
}
