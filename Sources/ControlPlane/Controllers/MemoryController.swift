import Foundation
import Hummingbird
import PersonaKit
import PersonaStorage
import Tokenizer
import Memory

/// `/api/personas/{id}/memory[...]`: document upload (multipart), the document list, one
/// document with its chunks, deletion, and semantic search.
struct MemoryController: Sendable {
    let database: Database
    let memory: MemoryService
    let personas = PersonaRepository()
    let audit = AuditRepository()

    static let maxSearchLimit = 50
    static let maxQueryLength = 4000

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("{id}/memory/upload") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let received = try await memory.store.receive(request)
            let document = MemoryDocument(id: Identifier.make(), personaId: persona.id, name: received.name,
                                          contentType: received.contentType, sizeBytes: received.size, sha256: received.sha256,
                                          uploadedBy: context.identity?.id, traceId: context.trace.traceId, now: Date())
            try await database.transaction { tx in
                try await memory.documents.insert(document, on: tx)
                try await audit.insert(AuditEvent(context, type: "memory.document_uploaded", category: "memory",
                                                           description: "Document uploaded to memory", personaId: persona.id,
                                                           metadata: ["documentId": document.id, "name": document.name,
                                                                      "sizeBytes": document.sizeBytes]), on: tx)
            }
            memory.wakeUp.signal()
            return try JSONResponse.data(document, status: .created)
        }
        group.get("{id}/memory") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let page = try Page(request: request)
            let rows = try await database.withConnection {
                try await memory.documents.list(personaId: persona.id, cursor: page.cursor, limit: page.limit, on: $0)
            }
            let (documents, next) = page.split(rows, id: \.id)
            return try JSONResponse.data(documents, nextCursor: next)
        }
        group.get("{id}/memory/search") { request, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let query = request.uri.queryParameters
            guard let q = query.get("q")?.trimmingCharacters(in: .whitespacesAndNewlines), !q.isEmpty else {
                throw APIError.validation("q (the search text) is required")
            }
            guard q.count <= Self.maxQueryLength else { throw APIError.validation("q must be at most \(Self.maxQueryLength) characters") }
            var limit = 5
            if let text = query.get("limit") {
                guard let value = Int(text), (1...Self.maxSearchLimit).contains(value) else {
                    throw APIError.validation("limit must be a whole number from 1 to \(Self.maxSearchLimit)")
                }
                limit = value
            }
            let results: [MemoryChunk]
            do {
                results = try await memory.search(personaId: persona.id, query: q, limit: limit)
            } catch let error as EmbeddingsError {
                throw APIError(.serviceUnavailable, code: "embedder_unavailable", "The query could not be embedded: \(error.message)")
            }
            return try JSONResponse.data(results)
        }
        group.get("{id}/memory/{documentId}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .viewer, in: database)
            let id = try context.id("documentId", what: "Document")
            let (document, chunks) = try await database.withConnection { db in
                guard let document = try await memory.documents.find(id: id, personaId: persona.id, on: db) else {
                    throw APIError.notFound("Document")
                }
                return (document, try await memory.chunks.chunks(documentId: id, limit: 10_000, on: db))
            }
            return try JSONResponse.data(DocumentDetail(document: document, chunks: chunks))
        }
        group.delete("{id}/memory/{documentId}") { _, context in
            let (persona, _) = try await personas.requireVisible(context, minimum: .editor, in: database)
            let id = try context.id("documentId", what: "Document")
            let event = AuditEvent(context, type: "memory.document_deleted", category: "memory",
                                   description: "Document deleted from memory", personaId: persona.id, metadata: ["documentId": id])
            guard try await memory.delete(documentId: id, personaId: persona.id, event: event, audit: audit) else {
                throw APIError.notFound("Document")
            }
            return JSONResponse.noContent()
        }
    }

    /// A document with its chunks (text and offsets; vectors stay in the database).
    struct DocumentDetail: Encodable, Sendable {
        var document: MemoryDocument
        var chunks: [MemoryChunk]

        func encode(to encoder: any Encoder) throws {
            try document.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(chunks, forKey: .chunks)
        }

        enum Key: String, CodingKey { case chunks }
    }
}
