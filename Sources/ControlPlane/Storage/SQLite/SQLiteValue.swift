import Foundation
@_spi(CodableUtilities) import SQLKit

/// One SQLite value, as bound to a statement or read from a row.
///
/// The storage format is the one the embedded database has always used (sqlite-nio's, before
/// this driver): dates are `REAL` seconds since 1970, booleans `INTEGER` 0/1, bytes `BLOB`,
/// anything else that is not a plain value JSON `TEXT`.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// The value of a bind: the common types directly, anything else through `Encodable`
    /// (a raw-value enum as its raw value, a structure as JSON text).
    init(encoding value: any Encodable) throws {
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
    func decode<D: Decodable>(_ type: D.Type) throws -> D {
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

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// Types stored as one SQLite value without going through `Codable`.
protocol SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue)
    var sqliteValue: SQLiteValue { get }
}

extension String: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        switch sqliteValue {
        case .text(let text): self = text
        case .integer(let n): self = String(n)
        case .real(let n): self = String(n)
        case .blob, .null: return nil
        }
    }
    var sqliteValue: SQLiteValue { .text(self) }
}

extension SQLiteValueConvertible where Self: FixedWidthInteger {
    init?(sqliteValue: SQLiteValue) {
        guard case .integer(let n) = sqliteValue, let value = Self(exactly: n) else { return nil }
        self = value
    }
    var sqliteValue: SQLiteValue { Int64(exactly: self).map(SQLiteValue.integer) ?? .real(Double(self)) }
}

extension Int: SQLiteValueConvertible {}
extension Int8: SQLiteValueConvertible {}
extension Int16: SQLiteValueConvertible {}
extension Int32: SQLiteValueConvertible {}
extension Int64: SQLiteValueConvertible {}
extension UInt: SQLiteValueConvertible {}
extension UInt8: SQLiteValueConvertible {}
extension UInt16: SQLiteValueConvertible {}
extension UInt32: SQLiteValueConvertible {}
extension UInt64: SQLiteValueConvertible {}

extension Double: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        switch sqliteValue {
        case .real(let n): self = n
        case .integer(let n): self = Double(n)
        default: return nil
        }
    }
    var sqliteValue: SQLiteValue { .real(self) }
}

extension Float: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        guard let value = Double(sqliteValue: sqliteValue) else { return nil }
        self = Float(value)
    }
    var sqliteValue: SQLiteValue { .real(Double(self)) }
}

extension Bool: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        switch sqliteValue {
        case .integer(0), .real(0): self = false
        case .integer(1), .real(1): self = true
        case .text("0"): self = false
        case .text("1"): self = true
        default: return nil
        }
    }
    var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) }
}

extension Data: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        guard case .blob(let bytes) = sqliteValue else { return nil }
        self = bytes
    }
    var sqliteValue: SQLiteValue { .blob(self) }
}

extension Date: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        let seconds: Double
        switch sqliteValue {
        case .real(let n): seconds = n
        case .integer(let n): seconds = Double(n)
        case .text(let text):
            guard let date = (try? Date(text, strategy: .iso8601))
                ?? (try? Date(text, strategy: .iso8601.dateTimeSeparator(.space))) else { return nil }
            self = date
            return
        default: return nil
        }
        // Microseconds, as stored dates have always been read: no nanosecond noise in equality.
        let sinceReference = seconds - Date.timeIntervalBetween1970AndReferenceDate
        self.init(timeIntervalSinceReferenceDate: (sinceReference * 1e6).rounded() / 1e6)
    }
    var sqliteValue: SQLiteValue { .real(timeIntervalSince1970) }
}

extension Optional: SQLiteValueConvertible where Wrapped: SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue) {
        if case .null = sqliteValue {
            self = .none
            return
        }
        guard let value = Wrapped(sqliteValue: sqliteValue) else { return nil }
        self = .some(value)
    }
    var sqliteValue: SQLiteValue { map(\.sqliteValue) ?? .null }
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
