import Logging
import NIOCore
import PostgresNIO

/// PostgreSQL's persona-list pages, read in batches: the pages that concurrent requests ask
/// for while earlier batches run are answered by one statement, a `LATERAL` page per request
/// (see ``QueryCoalescer``). Each request's page is exactly what ``PersonaListQuery``'s single
/// statement would return.
final class PersonaPageLoader: Sendable {
    /// Two batches at once: one being answered by PostgreSQL while the other's rows are read.
    static let maxInFlight = 2
    /// At most this many pages per statement.
    static let maxBatch = 32

    private let first: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>
    private let after: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>

    init(client: PostgresClient, logger: Logger) {
        first = QueryCoalescer(maxInFlight: Self.maxInFlight, maxBatch: Self.maxBatch) { pages in
            try await Self.rows(of: FirstPages(pages: pages), count: pages.count, client: client, logger: logger)
        }
        after = QueryCoalescer(maxInFlight: Self.maxInFlight, maxBatch: Self.maxBatch) { pages in
            try await Self.rows(of: PagesAfter(pages: pages), count: pages.count, client: client, logger: logger)
        }
    }

    /// How the first pages' and the later pages' reads were batched.
    var statistics: (first: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>.Statistics,
                     after: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>.Statistics) {
        (first.statistics, after.statistics)
    }

    /// The rows of one page (the statement's `LIMIT` is `parameters.limit`).
    func rows(_ parameters: PersonaListQuery.Parameters) async throws -> [PersonaWireRow] {
        try await (parameters.cursor == nil ? first : after).load(parameters)
    }

    private static func rows<S: BatchStatement>(of statement: S, count: Int, client: PostgresClient, logger: Logger) async throws -> [[PersonaWireRow]] {
        try await client.execute(statement, logger: logger).reduce(into: Array(repeating: [], count: count)) { pages, row in
            guard row.page >= 1 && row.page <= count else { throw StorageError(.failed, "persona page \(row.page) of a batch of \(count)") }
            pages[row.page - 1].append(row.persona)
        }
    }

    /// A batch's row: the page it belongs to (from 1, the request's place in the batch) and the persona.
    struct Row: Sendable {
        var page: Int
        var persona: PersonaWireRow
    }

    protocol BatchStatement: PostgresPreparedStatement where Row == PersonaPageLoader.Row {
        /// Whether the statement binds each page's cursor (`$3`, before the limits).
        static var afterCursor: Bool { get }
        var pages: [PersonaListQuery.Parameters] { get }
    }

    /// First pages.
    struct FirstPages: BatchStatement {
        static let sql = PersonaListQuery.batchSQL(after: false)
        static let afterCursor = false
        var pages: [PersonaListQuery.Parameters]
    }

    /// Pages after a cursor (the last id of the page before).
    struct PagesAfter: BatchStatement {
        static let sql = PersonaListQuery.batchSQL(after: true)
        static let afterCursor = true
        var pages: [PersonaListQuery.Parameters]
    }
}

extension PersonaPageLoader.BatchStatement {
    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(pages.map(\.userId))
        bindings.append(pages.map(\.isAdmin))
        if Self.afterCursor { bindings.append(pages.map { $0.cursor ?? "" }) }
        bindings.append(pages.map(\.limit))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> PersonaPageLoader.Row {
        var cells = row.makeIterator()
        guard let cell = cells.next() else { throw StorageError(.failed, "persona batch row without columns") }
        let page: Int
        if cell.format == .binary, cell.dataType == .int8, let bytes = cell.bytes, bytes.readableBytes == 8,
           let value = bytes.getInteger(at: bytes.readerIndex, as: Int64.self) {
            page = Int(value)
        } else {
            page = try cell.decode(Int.self)
        }
        return PersonaPageLoader.Row(page: page, persona: try PersonaWireRow(cells: &cells))
    }
}
