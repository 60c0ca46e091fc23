#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Types stored as one SQLite value without going through `Codable`.
public protocol SQLiteValueConvertible {
    init?(sqliteValue: SQLiteValue)
    var sqliteValue: SQLiteValue { get }
}

extension String: SQLiteValueConvertible {
    public init?(sqliteValue: SQLiteValue) {
        switch sqliteValue {
        case .text(let text): self = text
        case .integer(let n): self = String(n)
        case .real(let n): self = String(n)
        case .blob, .null: return nil
        }
    }
    public var sqliteValue: SQLiteValue { .text(self) }
}

extension SQLiteValueConvertible where Self: FixedWidthInteger {
    public init?(sqliteValue: SQLiteValue) {
        guard case .integer(let n) = sqliteValue, let value = Self(exactly: n) else { return nil }
        self = value
    }
    public var sqliteValue: SQLiteValue { Int64(exactly: self).map(SQLiteValue.integer) ?? .real(Double(self)) }
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
    public init?(sqliteValue: SQLiteValue) {
        switch sqliteValue {
        case .real(let n): self = n
        case .integer(let n): self = Double(n)
        default: return nil
        }
    }
    public var sqliteValue: SQLiteValue { .real(self) }
}

extension Float: SQLiteValueConvertible {
    public init?(sqliteValue: SQLiteValue) {
        guard let value = Double(sqliteValue: sqliteValue) else { return nil }
        self = Float(value)
    }
    public var sqliteValue: SQLiteValue { .real(Double(self)) }
}

extension Bool: SQLiteValueConvertible {
    public init?(sqliteValue: SQLiteValue) {
        switch sqliteValue {
        case .integer(0), .real(0): self = false
        case .integer(1), .real(1): self = true
        case .text("0"): self = false
        case .text("1"): self = true
        default: return nil
        }
    }
    public var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) }
}

extension Data: SQLiteValueConvertible {
    public init?(sqliteValue: SQLiteValue) {
        guard case .blob(let bytes) = sqliteValue else { return nil }
        self = bytes
    }
    public var sqliteValue: SQLiteValue { .blob(self) }
}

extension Date: SQLiteValueConvertible {
    public init?(sqliteValue: SQLiteValue) {
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
    public var sqliteValue: SQLiteValue { .real(timeIntervalSince1970) }
}

extension Optional: SQLiteValueConvertible where Wrapped: SQLiteValueConvertible {
    public init?(sqliteValue: SQLiteValue) {
        if case .null = sqliteValue {
            self = .none
            return
        }
        guard let value = Wrapped(sqliteValue: sqliteValue) else { return nil }
        self = .some(value)
    }
    public var sqliteValue: SQLiteValue { map(\.sqliteValue) ?? .null }
}
