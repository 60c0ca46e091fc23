#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One SQLite value, as bound to a statement or read from a row.
///
/// The storage format both processes use: dates are `REAL` seconds since 1970, booleans
/// `INTEGER` 0/1, bytes `BLOB`, text `TEXT`.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    public var text: String? { if case .text(let value) = self { return value }; return nil }
    public var integer: Int64? { if case .integer(let value) = self { return value }; return nil }
    /// A `REAL`, or an `INTEGER` read as one.
    public var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
    /// A `BLOB`, or the UTF-8 bytes of a `TEXT`.
    public var blob: Data? {
        switch self {
        case .blob(let value): value
        case .text(let value): Data(value.utf8)
        default: nil
        }
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
