import CSQLite
import Logging
import NIOCore
import NIOPosix
import PersonaCore
import SQLKit

/// SQLKit over one ``PooledSQLiteConnection``: what repositories get from ``Database`` on SQLite.
package struct SQLiteSQLDatabase: SQLDatabase {
    package let connection: PooledSQLiteConnection
    package let logger: Logger
    package let queryLogLevel: Logger.Level?

    package var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    package var dialect: any SQLDialect { SQLiteDialect() }
    package var version: (any SQLDatabaseReportedVersion)? { SQLiteVersion.runtime }

    package func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await self.execute(sql: query, onRow) }
        return promise.futureResult
    }

    package func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        if let queryLogLevel {
            // The statement only: binds can hold secrets (sealed, but still not for logs).
            logger.log(level: queryLogLevel, "Executing query", metadata: ["sql": .string(sql)])
        }
        try await connection.run(sql, try binds.map { try SQLiteValue(encoding: $0) }, onRow: onRow)
    }

    package func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    package init(connection: PooledSQLiteConnection, logger: Logger, queryLogLevel: Logger.Level?) {
        self.connection = connection
        self.logger = logger
        self.queryLogLevel = queryLogLevel
    }
}

/// A row: the statement's shared column names and this row's values.
package struct SQLiteRow: SQLRow {
    package let columns: SQLiteColumns
    package let values: [SQLiteValue]

    package var allColumns: [String] { columns.names }

    package func contains(column: String) -> Bool {
        columns.index(of: column) != nil
    }

    package func decodeNil(column: String) throws -> Bool {
        try value(column).isNull
    }

    package func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try value(column)
        do {
            return try value.decode(type)
        } catch let error as DecodingError {
            throw error
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [SQLiteColumnKey(stringValue: column)],
                                                    debugDescription: "column \(column): \(error)", underlyingError: error))
        }
    }

    private func value(_ column: String) throws -> SQLiteValue {
        guard let index = columns.index(of: column) else {
            throw DecodingError.keyNotFound(SQLiteColumnKey(stringValue: column),
                                            .init(codingPath: [], debugDescription: "no column \(column) in \(columns.names)"))
        }
        return values[index]
    }

    package init(columns: SQLiteColumns, values: [SQLiteValue]) {
        self.columns = columns
        self.values = values
    }
}

private struct SQLiteColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The library's version, as SQLKit compares versions.
package struct SQLiteVersion: SQLDatabaseReportedVersion {
    package let intValue: Int
    package static let runtime = SQLiteVersion(intValue: Int(sqlite3_libversion_number()))

    package var majorVersion: Int { intValue / 1_000_000 }
    package var minorVersion: Int { intValue % 1_000_000 / 1_000 }
    package var patchVersion: Int { intValue % 1_000 }
    package var stringValue: String { "\(majorVersion).\(minorVersion).\(patchVersion)" }

    package func isEqual(to other: any SQLDatabaseReportedVersion) -> Bool {
        (other as? SQLiteVersion)?.intValue == intValue
    }

    package func isOlder(than other: any SQLDatabaseReportedVersion) -> Bool {
        (other as? SQLiteVersion).map { intValue < $0.intValue } ?? false
    }

    package init(intValue: Int) {
        self.intValue = intValue
    }
}

/// SQLite's SQL as SQLKit writes it: `"` identifiers, `?N` binds, `RETURNING` and `ON CONFLICT`
/// (both in every SQLite we build with: 3.40 on Debian 12).
package struct SQLiteDialect: SQLDialect {
    package var name: String { "sqlite" }
    package var identifierQuote: any SQLExpression { SQLRaw("\"") }
    package var literalStringQuote: any SQLExpression { SQLRaw("'") }
    package func bindPlaceholder(at position: Int) -> any SQLExpression { SQLRaw("?\(position)") }
    package func literalBoolean(_ value: Bool) -> any SQLExpression { SQLRaw(value ? "TRUE" : "FALSE") }
    package var literalDefault: any SQLExpression { SQLLiteral.null }
    package var supportsIfExists: Bool { true }
    package var supportsDropBehavior: Bool { false }
    package var supportsAutoIncrement: Bool { false }
    package var autoIncrementClause: any SQLExpression { SQLRaw("AUTOINCREMENT") }
    package var enumSyntax: SQLEnumSyntax { .unsupported }
    package var triggerSyntax: SQLTriggerSyntax { .init(create: [.supportsBody, .supportsCondition, .supportsUpdateColumns], drop: []) }
    package var alterTableSyntax: SQLAlterTableSyntax { .init(allowsBatch: false) }
    package var upsertSyntax: SQLUpsertSyntax { .standard }
    package var supportsReturning: Bool { true }
    package var unionFeatures: SQLUnionFeatures { [.union, .unionAll, .intersect, .except] }

    package func customDataType(for dataType: SQLDataType) -> (any SQLExpression)? {
        if case .bigint = dataType { return SQLDataType.int }
        return nil
    }

    package func nestedSubpathExpression(in column: any SQLExpression, for path: [String]) -> (any SQLExpression)? {
        guard !path.isEmpty else { return nil }
        return SQLFunction("json_extract", args: [column, SQLLiteral.string("$.\(path.joined(separator: "."))")])
    }

    package init() {

    }
}
