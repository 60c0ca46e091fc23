import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import PersonaKit
import PersonaStorage

/// A request body type whose unknown fields are refused (400) instead of silently dropped.
protocol StrictBody: Decodable, Sendable {
    static var fields: Set<String> { get }
}

extension Request {
    /// Collects at most `limit` bytes (413 beyond) and decodes a JSON object of `T`, turning
    /// malformed JSON, wrong types and unknown fields into 400 `validation_failed` errors.
    func decodeJSON<T: StrictBody>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer = try await collectBody(limit: limit)
        let data = Data(buffer: buffer)
        let value: JSONValue
        do {
            value = try JSONCoding.decoder.decode(JSONValue.self, from: data)
        } catch {
            throw APIError.validation("Request body is not valid JSON")
        }
        guard case .object(let members) = value else { throw APIError.validation("Request body must be a JSON object") }
        if let unknown = members.keys.sorted().first(where: { !T.fields.contains($0) }) {
            throw APIError.validation("Unknown field '\(unknown)'")
        }
        do {
            return try JSONCoding.decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError.validation(Self.describe(error))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.validation("Request body does not have the expected shape")
        }
    }

    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.tooLarge("Request body is larger than \(limit) bytes")
        }
        do {
            return try await body.collect(upTo: limit)
        } catch {
            throw APIError.tooLarge("Request body is larger than \(limit) bytes")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "Missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context):
            return "Field '\(path(context.codingPath))' must be \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            return "Field '\(path(context.codingPath))' must be \(Self.typeName(type)), not null"
        case .dataCorrupted(let context):
            let where_ = path(context.codingPath)
            return where_.isEmpty ? "Request body is not valid" : "Field '\(where_)' is not valid: \(context.debugDescription)"
        @unknown default:
            return "Request body does not have the expected shape"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "of type \(type)"
        }
    }
}

/// Builds JSON responses in the API's envelope.
enum JSONResponse {
    /// `{"data": value}` (plus `nextCursor` when paging), with the given status.
    static func data<T: Encodable & Sendable>(_ value: T, status: HTTPResponse.Status = .ok,
                                              nextCursor: String? = nil, headers: HTTPFields = [:]) throws -> Response {
        try raw(Envelope(data: value, nextCursor: nextCursor), status: status, headers: headers)
    }

    private struct Envelope<T: Encodable>: Encodable {
        var data: T
        var nextCursor: String?
    }

    static func raw<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let bytes = try JSONCoding.encoder.encode(value)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func noContent() -> Response { Response(status: .noContent) }
}

/// Absent vs `null` vs a value, for PATCH bodies.
enum Patch<Value: Decodable & Sendable>: Decodable, Sendable {
    case unchanged
    case clear
    case set(Value)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .clear : .set(try container.decode(Value.self))
    }

    func apply(to current: Value?) -> Value? {
        switch self {
        case .unchanged: current
        case .clear: nil
        case .set(let value): value
        }
    }
}

extension KeyedDecodingContainer {
    func decode<V>(_ type: Patch<V>.Type, forKey key: Key) throws -> Patch<V> {
        guard contains(key) else { return .unchanged }
        if try decodeNil(forKey: key) { return .clear }
        return .set(try decode(V.self, forKey: key))
    }
}
