import Foundation
import PersonaCore
@_spi(CodableUtilities) import SQLKit

/// Binding and reading through `Codable`, for SQLKit: the common types directly, raw-value
/// enums as their raw value, structures as JSON text.
extension SQLiteValue {
    /// The value of a bind: the common types directly, anything else through `Encodable`
    /// (a raw-value enum as its raw value, a structure as JSON text).
    package init(encoding value: any Encodable) throws {
        if let value = value as? any SQLiteValueConvertible {
            self = value.sqliteValue
            return
        }
        let encoder = SQLiteValueEncoder()
        do {
            try value.encode(to: encoder)
            guard let encoded = encoder.value else { throw SQLCodingError.unsupportedOperation("missing value", codingPath: []) }
            self = encoded
        } catch is SQLCodingError {
            self = .text(String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
        }
    }

    /// Decodes the value as `type`: the common types directly, anything else through
    /// `Decodable` (a raw-value enum from its raw value, a structure from JSON text).
    package func decode<D: Decodable>(_ type: D.Type) throws -> D {
        // The types rows are read as nearly always, by identity: a metadata comparison, where
        // the conformance lookup below costs a hash-table probe in the runtime per value.
        if D.self == String.self { return unsafeBitCast(try exactly(String.self), to: D.self) }
        if D.self == String?.self { return unsafeBitCast(try exactly(String?.self), to: D.self) }
        if D.self == Date.self { return unsafeBitCast(try exactly(Date.self), to: D.self) }
        if D.self == Date?.self { return unsafeBitCast(try exactly(Date?.self), to: D.self) }
        if D.self == Bool.self { return unsafeBitCast(try exactly(Bool.self), to: D.self) }
        if D.self == Int.self { return unsafeBitCast(try exactly(Int.self), to: D.self) }
        if D.self == Int?.self { return unsafeBitCast(try exactly(Int?.self), to: D.self) }
        if D.self == Double.self { return unsafeBitCast(try exactly(Double.self), to: D.self) }
        if let convertible = type as? any SQLiteValueConvertible.Type {
            guard let value = convertible.init(sqliteValue: self) else {
                throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "cannot read \(self) as \(type)"))
            }
            return value as! D
        }
        do {
            return try D(from: SQLiteValueDecoder(value: self))
        } catch is SQLCodingError {
            let json: Data
            switch self {
            case .text(let text): json = Data(text.utf8)
            case .blob(let bytes): json = bytes
            case .integer(let n): json = Data(String(n).utf8)
            case .real(let n): json = Data(String(n).utf8)
            case .null: json = Data()
            }
            return try JSONDecoder().decode(D.self, from: json)
        }
    }

    private func exactly<T: SQLiteValueConvertible>(_ type: T.Type) throws -> T {
        guard let value = T(sqliteValue: self) else {
            throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "cannot read \(self) as \(type)"))
        }
        return value
    }

}

/// Encodes a single value (what a raw-value enum or a wrapper produces); anything keyed or
/// unkeyed throws ``SQLCodingError``, which sends the value to JSON instead.
private final class SQLiteValueEncoder: Encoder, SingleValueEncodingContainer {
    var value: SQLiteValue?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy: Key.Type) -> KeyedEncodingContainer<Key> { .invalid(at: codingPath) }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { .invalid(at: codingPath) }
    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws { value = .null }
    func encode(_ value: Bool) throws { self.value = value.sqliteValue }
    func encode(_ value: String) throws { self.value = .text(value) }
    func encode(_ value: Double) throws { self.value = .real(value) }
    func encode(_ value: Float) throws { self.value = .real(Double(value)) }
    func encode(_ value: Int) throws { self.value = value.sqliteValue }
    func encode(_ value: Int8) throws { self.value = value.sqliteValue }
    func encode(_ value: Int16) throws { self.value = value.sqliteValue }
    func encode(_ value: Int32) throws { self.value = value.sqliteValue }
    func encode(_ value: Int64) throws { self.value = value.sqliteValue }
    func encode(_ value: UInt) throws { self.value = value.sqliteValue }
    func encode(_ value: UInt8) throws { self.value = value.sqliteValue }
    func encode(_ value: UInt16) throws { self.value = value.sqliteValue }
    func encode(_ value: UInt32) throws { self.value = value.sqliteValue }
    func encode(_ value: UInt64) throws { self.value = value.sqliteValue }
    func encode<T: Encodable>(_ value: T) throws { self.value = try SQLiteValue(encoding: value) }
}

/// Decodes a single value; anything keyed or unkeyed throws ``SQLCodingError``, which sends
/// the value to the JSON decoder instead.
private struct SQLiteValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: SQLiteValue
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy: Key.Type) throws -> KeyedDecodingContainer<Key> { throw .invalid(at: codingPath) }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw .invalid(at: codingPath) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value.isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try value.decode(type) }
}
