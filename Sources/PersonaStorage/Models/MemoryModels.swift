import Foundation
import NIOCore
import PersonaKit
import SQLKit

/// Where a document is in ingestion.
public enum DocumentStatus: String, Codable, Sendable {
    case pending, processing, completed, failed
}

/// An uploaded document (`documents`): the stored file and its ingestion state.
public struct MemoryDocument: Codable, Sendable, Equatable {
    public var id: String
    public var personaId: String
    public var name: String
    public var contentType: String?
    public var sizeBytes: Int
    public var sha256: String
    /// The detected format once extraction ran (`txt`, `markdown`, `html`, `pdf`, `docx`, ...).
    public var format: String?
    public var status: DocumentStatus
    /// Why ingestion failed, fit to show to the uploader.
    public var error: String?
    public var chunkCount: Int
    public var attempts: Int
    public var uploadedBy: String?
    public var traceId: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var processedAt: Date?

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        personaId = try row.decode(column: "persona_id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        contentType = try row.decode(column: "content_type", as: String?.self)
        sizeBytes = try row.decode(column: "size_bytes", as: Int.self)
        sha256 = try row.decode(column: "sha256", as: String.self)
        format = try row.decode(column: "format", as: String?.self)
        status = DocumentStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed
        error = try row.decode(column: "error", as: String?.self)
        chunkCount = try row.decode(column: "chunk_count", as: Int.self)
        attempts = try row.decode(column: "attempts", as: Int.self)
        uploadedBy = try row.decode(column: "uploaded_by", as: String?.self)
        traceId = try row.decode(column: "trace_id", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
        processedAt = try row.decode(column: "processed_at", as: Date?.self)
    }

    package init(id: String, personaId: String, name: String, contentType: String?, sizeBytes: Int, sha256: String,
         uploadedBy: String?, traceId: String?, now: Date) {
        self.id = id
        self.personaId = personaId
        self.name = name
        self.contentType = contentType
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.status = .pending
        self.chunkCount = 0
        self.attempts = 0
        self.uploadedBy = uploadedBy
        self.traceId = traceId
        self.createdAt = now
        self.updatedAt = now
    }
}

/// A chunk about to be stored: text, place in its document and its embedding.
package struct NewChunk: Sendable {
    package var id: String
    package var documentId: String?
    package var index: Int
    package var text: String
    package var startOffset: Int?
    package var endOffset: Int?
    package var tokenCount: Int
    package var curated: Bool
    package var sourceChunkIds: [String]?
    package var embedding: [Float]

    package init(id: String, documentId: String? = nil, index: Int, text: String, startOffset: Int? = nil, endOffset: Int? = nil, tokenCount: Int, curated: Bool, sourceChunkIds: [String]? = nil, embedding: [Float]) {
        self.id = id
        self.documentId = documentId
        self.index = index
        self.text = text
        self.startOffset = startOffset
        self.endOffset = endOffset
        self.tokenCount = tokenCount
        self.curated = curated
        self.sourceChunkIds = sourceChunkIds
        self.embedding = embedding
    }
}

/// A stored chunk as the API shows it (search adds `similarity`).
public struct MemoryChunk: Codable, Sendable, Equatable {
    public var id: String
    public var documentId: String?
    public var documentName: String?
    public var chunkIndex: Int
    public var text: String
    public var startOffset: Int?
    public var endOffset: Int?
    public var tokenCount: Int
    public var curated: Bool
    public var sourceChunkIds: [String]?
    public var embeddingModel: String
    public var similarity: Double?
    public var createdAt: Date

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        documentId = try row.decode(column: "document_id", as: String?.self)
        documentName = try row.decode(column: "document_name", as: String?.self)
        chunkIndex = try row.decode(column: "chunk_index", as: Int.self)
        text = try row.decode(column: "text", as: String.self)
        startOffset = try row.decode(column: "start_offset", as: Int?.self)
        endOffset = try row.decode(column: "end_offset", as: Int?.self)
        tokenCount = try row.decode(column: "token_count", as: Int.self)
        curated = try row.decode(column: "is_curated", as: Bool.self)
        sourceChunkIds = try row.decode(column: "source_chunk_ids", as: String?.self)
            .flatMap { try? JSONCoding.decode([String].self, from: $0) }
        embeddingModel = try row.decode(column: "embedding_model", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Date.self)
    }
}

/// Vectors in the two stored forms: little-endian float32 blobs (SQLite; ``MemoryVector`` is
/// the same layout) and pgvector's text literal `[x,y,...]` (PostgreSQL).
package enum VectorCoding {
    package static func blob(_ vector: [Float]) -> ByteBuffer { ByteBuffer(bytes: MemoryVector.bytes(vector)) }

    package static func floats(_ buffer: ByteBuffer) -> [Float] { MemoryVector.floats(Array(buffer.readableBytesView)) ?? [] }

    package static func pgText(_ vector: [Float]) -> String {
        var text = "["
        text.reserveCapacity(vector.count * 12)
        for (index, value) in vector.enumerated() {
            if index > 0 { text += "," }
            text += value.description
        }
        return text + "]"
    }

    package static func parsePG(_ text: String) -> [Float] {
        text.utf8.split(whereSeparator: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: ",") })
            .compactMap { Float(String(decoding: $0, as: UTF8.self)) }
    }
}
