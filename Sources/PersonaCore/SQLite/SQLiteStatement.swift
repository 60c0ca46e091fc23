import CSQLite
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The column names of a statement's rows, shared by every row it returns.
public final class SQLiteColumns: Sendable {
    public let names: [String]

    public init(_ names: [String]) {
        self.names = names
    }

    public func index(of name: String) -> Int? {
        names.firstIndex(of: name)
    }
}

/// A prepared statement of one ``SQLiteConnection``, valid while the connection is open.
/// `@unchecked Sendable` for the same reason as its connection: whoever holds the connection
/// (one thread at a time) is the only one who steps it.
public final class SQLiteStatement: @unchecked Sendable {
    let handle: OpaquePointer
    /// Its columns, refreshed when the schema changed under a cached `SELECT *`.
    public private(set) var columns: SQLiteColumns
    /// Whether it only reads (such a statement waits for nobody in WAL mode).
    public let readOnly: Bool

    init(handle: OpaquePointer) {
        self.handle = handle
        self.columns = Self.columns(of: handle)
        self.readOnly = sqlite3_stmt_readonly(handle) != 0
    }

    func finalize() {
        sqlite3_finalize(handle)
    }

    private static func columns(of handle: OpaquePointer) -> SQLiteColumns {
        SQLiteColumns((0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) })
    }

    /// The current row's values (call inside a row callback), with its column names.
    public func row() -> (columns: SQLiteColumns, values: [SQLiteValue]) {
        let count = sqlite3_column_count(handle)
        if count != columns.names.count {
            // The schema changed under a cached `SELECT *`; SQLite prepared it again.
            columns = Self.columns(of: handle)
        }
        return (columns, values())
    }

    /// The current row's values, in column order.
    public func values() -> [SQLiteValue] {
        let count = sqlite3_column_count(handle)
        var values: [SQLiteValue] = []
        values.reserveCapacity(Int(count))
        for column in 0..<count { values.append(value(column)) }
        return values
    }

    /// The current row's value at `column`.
    public func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let base = sqlite3_column_text(handle, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let base = sqlite3_column_blob(handle, column), count > 0 else { return .blob(Data()) }
            return .blob(Data(bytes: base, count: count))
        default:
            return .null
        }
    }

    /// Reads the current row by column position, without building values.
    public var reader: SQLiteColumnReader { SQLiteColumnReader(statement: self) }
}

/// The current row of a statement, read by column position (valid only inside a row callback).
public struct SQLiteColumnReader {
    private let statement: SQLiteStatement
    private var handle: OpaquePointer { statement.handle }

    init(statement: SQLiteStatement) {
        self.statement = statement
    }

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func text(_ column: Int32) -> String {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard let base = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    /// The column's UTF-8 bytes, or `nil` for NULL: valid until the callback returns.
    public func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let base = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: base, count: Int(sqlite3_column_bytes(handle, column)))
    }

    public func optionalText(_ column: Int32) -> String? {
        isNull(column) ? nil : text(column)
    }

    /// - Throws: `DecodingError.typeMismatch` when the column holds no boolean.
    public func bool(_ column: Int32) throws -> Bool {
        try decode(column, as: Bool.self)
    }

    /// - Throws: `DecodingError.typeMismatch` when the column holds no date.
    public func date(_ column: Int32) throws -> Date {
        try decode(column, as: Date.self)
    }

    private func decode<T: SQLiteValueConvertible>(_ column: Int32, as type: T.Type) throws -> T {
        let value = statement.value(column)
        guard let decoded = T(sqliteValue: value) else {
            throw DecodingError.typeMismatch(type, .init(codingPath: [], debugDescription: "column \(column): cannot read \(value) as \(type)"))
        }
        return decoded
    }
}
