import Logging
import NIOCore
import PostgresNIO

/// PostgreSQL's persona-list pages, read in batches: the pages that concurrent requests ask
/// for while earlier batches run are answered by one statement, a `LATERAL` page per request
/// (see ``QueryCoalescer``). Each request's page is exactly what ``PersonaListQuery``'s single
/// statement would return.
package final class PersonaPageLoader: Sendable {
    /// Two batches at once: one being answered by PostgreSQL while the other's rows are read.
    package static let maxInFlight = 2
    /// At most this many pages per statement.
    package static let maxBatch = 32

    private let first: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>
    private let after: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>

    package init(client: PostgresClient, logger: Logger) {
        first = QueryCoalescer(maxInFlight: Self.maxInFlight, maxBatch: Self.maxBatch) { pages in
            try await Self.rows(of: FirstPages(pages: pages), count: pages.count, client: client, logger: logger)
        }
        after = QueryCoalescer(maxInFlight: Self.maxInFlight, maxBatch: Self.maxBatch) { pages in
            try await Self.rows(of: PagesAfter(pages: pages), count: pages.count, client: client, logger: logger)
        }
    }

    /// How the first pages' and the later pages' reads were batched.
    package var statistics: (first: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>.Statistics,
                     after: QueryCoalescer<PersonaListQuery.Parameters, [PersonaWireRow]>.Statistics) {
        (first.statistics, after.statistics)
    }

    /// The rows of one page (the statement's `LIMIT` is `parameters.limit`).
    package func rows(_ parameters: PersonaListQuery.Parameters) async throws -> [PersonaWireRow] {
        try await (parameters.cursor == nil ? first : after).load(parameters)
    }

    private static func rows<S: BatchStatement>(of statement: S, count: Int, client: PostgresClient, logger: Logger) async throws -> [[PersonaWireRow]] {
        try await client.execute(statement, logger: logger).reduce(into: Array(repeating: [], count: count)) { pages, row in
            guard row.page >= 1 && row.page <= count else { throw StorageError(.failed, "persona page \(row.page) of a batch of \(count)") }
            pages[row.page - 1].append(row.persona)
        }
    }

    /// A batch's row: the page it belongs to (from 1, the request's place in the batch) and the persona.
    package struct Row: Sendable {
        package var page: Int
        package var persona: PersonaWireRow

        package init(page: Int, persona: PersonaWireRow) {
            self.page = page
            self.persona = persona
        }
    }

    package protocol BatchStatement: PostgresPreparedStatement where Row == PersonaPageLoader.Row {
        /// Whether the statement binds each page's cursor (`$3`, before the limits).
        static var afterCursor: Bool { get }
        var pages: [PersonaListQuery.Parameters] { get }
    }

    /// First pages.
    package struct FirstPages: BatchStatement {
        package static let sql = PersonaListQuery.batchSQL(after: false)
        package static let afterCursor = false
        package var pages: [PersonaListQuery.Parameters]

        package init(pages: [PersonaListQuery.Parameters]) {
            self.pages = pages
        }
    }

    /// Pages after a cursor (the last id of the page before).
    package struct PagesAfter: BatchStatement {
        package static let sql = PersonaListQuery.batchSQL(after: true)
        package static let afterCursor = true
        package var pages: [PersonaListQuery.Parameters]

        package init(pages: [PersonaListQuery.Parameters]) {
            self.pages = pages
        }
    }
}

extension PersonaPageLoader.BatchStatement {
    package func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(pages.map(\.userId))
        bindings.append(pages.map(\.isAdmin))
        if Self.afterCursor { bindings.append(pages.map { $0.cursor ?? "" }) }
        bindings.append(pages.map(\.limit))
        return bindings
    }

    package func decodeRow(_ row: PostgresRow) throws -> PersonaPageLoader.Row {
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
