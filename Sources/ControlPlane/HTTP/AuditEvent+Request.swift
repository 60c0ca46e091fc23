import PersonaKit
import PersonaStorage

extension AuditEvent {
    /// An event attributed to the request's user, trace and client address.
    init(_ context: AppRequestContext, type: String, category: String, description: String,
         personaId: String? = nil, userId: String? = nil, metadata: [String: any JSONValueConvertible] = [:]) {
        self.init(userId: userId ?? context.identity?.id, personaId: personaId, traceId: context.trace.traceId,
                  eventType: type, eventCategory: category, description: description,
                  metadata: metadata.mapValues(\.jsonValue), clientAddress: context.peerAddress)
    }
}

/// Values that can go into audit metadata.
protocol JSONValueConvertible: Sendable {
    var jsonValue: JSONValue { get }
}

extension String: JSONValueConvertible { var jsonValue: JSONValue { .string(self) } }
extension Int: JSONValueConvertible { var jsonValue: JSONValue { .number(Double(self)) } }
extension Bool: JSONValueConvertible { var jsonValue: JSONValue { .bool(self) } }
extension JSONValue: JSONValueConvertible { var jsonValue: JSONValue { self } }
extension Array: JSONValueConvertible where Element == String { var jsonValue: JSONValue { .array(map { .string($0) }) } }
