import DocumentText
import Embeddings
import Foundation
import Logging
import NIOPosix
import PersonaKit
import ServiceLifecycle
import SQLKit
import PersonaCore
import PersonaStorage
import Tokenizer

/// Turns queued documents into chunks: claims one with a lease (so a crashed control plane's
/// documents are picked up again, and several share the queue on PostgreSQL), extracts its
/// text, chunks it with the embedder's tokenizer, embeds the chunks in batches while
/// extending the lease, and stores them, replacing any earlier chunks of the document, in the
/// same transaction that marks it completed: a document is ingested whole or not at all.
/// When idle it re-embeds chunks stored under another model than the current one.
public struct MemoryIngestionWorker: Service {
    package let database: Database
    package let memory: MemoryService
    /// Opened once migrations ran; loops wait on it before their first query.
    package let startup: Gate
    package let logger: Logger
    package var owner = "ingest-" + Identifier.make()
    package var pollInterval: Duration = .seconds(1)

    package var settings: MemorySettings { memory.settings }

    package init(database: Database, memory: MemoryService, startup: Gate, logger: Logger) {
        self.database = database
        self.memory = memory
        self.startup = startup
        self.logger = logger
    }

    public func run() async throws {
        await startup.wait()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var worked = false
            do {
                if let document = try await claim() {
                    await ingest(document)
                    worked = true
                } else {
                    worked = try await reembedBatch()
                }
            } catch {
                logger.warning("memory ingestion failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            if !worked { await memory.wakeUp.wait(upTo: pollInterval) }
        }
    }

    package func claim() async throws -> MemoryDocument? {
        try await database.transaction { tx in
            try await memory.documents.claim(owner: owner, leaseSeconds: settings.ingestLeaseSeconds, now: Date(), on: tx,
                                             kind: database.kind)
        }
    }

    /// Ingests one claimed document to completed or failed.
    package func ingest(_ document: MemoryDocument) async {
        var logger = self.logger
        logger[metadataKey: "document_id"] = .string(document.id)
        if let trace = document.traceId { logger[metadataKey: "trace_id"] = .string(trace) }
        let started = ContinuousClock.now
        do {
            guard document.attempts <= settings.maxIngestAttempts else {
                throw IngestFailure("ingestion was interrupted \(document.attempts - 1) times; giving up on this document")
            }
            let extracted = try await extract(document)
            let tokenizer = try await memory.embedder.tokenizer()
            let chunker = try TextChunker(tokenizer: tokenizer, configuration: .init(maxTokens: settings.chunkTokens,
                                                                                     overlapTokens: settings.chunkOverlapTokens))
            // Tokenizing a large text takes seconds: off the cooperative pool, like extraction.
            let pieces = try await NIOThreadPool.singleton.runIfActive { chunker.chunk(extracted.text) }
            // Texts embedded before under this model (a re-upload, a retried document) keep their vectors.
            var known = try await database.withConnection {
                try await memory.chunks.storedVectors(for: pieces.map(\.text), model: memory.embedder.modelId, on: $0)
            }
            let missing = Array(Set(pieces.map(\.text)).subtracting(known.keys))
            for batch in missing.chunked(into: 64) {
                let batch = Array(batch)
                for (text, vector) in zip(batch, try await memory.embedder.embed(batch)) { known[text] = vector }
                guard try await extendLease(document) else { return logger.info("lost the ingestion lease; another worker has the document") }
            }
            let vectors = pieces.compactMap { known[$0.text] }
            guard vectors.count == pieces.count else { throw IngestFailure("the embedder returned no vector for a chunk") }
            let chunks = zip(pieces, vectors).map { piece, vector in
                NewChunk(id: Identifier.make(), documentId: document.id, index: piece.index, text: piece.text,
                         startOffset: piece.startOffset, endOffset: piece.endOffset, tokenCount: piece.tokenCount,
                         curated: false, sourceChunkIds: nil, embedding: vector)
            }
            let stored = try await database.transaction { tx -> Bool in
                try await memory.chunks.deleteChunks(documentId: document.id, personaId: document.personaId, now: Date(), on: tx)
                try await memory.chunks.insert(chunks, personaId: document.personaId, model: memory.embedder.modelId, now: Date(), on: tx)
                guard try await memory.documents.finish(id: document.id, owner: owner, status: .completed,
                                                        format: extracted.format.rawValue, chunkCount: chunks.count, error: nil,
                                                        now: Date(), on: tx)
                else { throw LeaseLost() }
                return true
            }
            if stored {
                logger.info("document ingested", metadata: [
                    "chunks": "\(chunks.count)", "format": "\(extracted.format.rawValue)",
                    "elapsed": "\(ContinuousClock.now - started)",
                ])
            }
        } catch is LeaseLost {
            logger.info("the document was deleted or taken over during ingestion")
        } catch {
            let message: String
            switch error {
            case let error as ExtractionError: message = error.message
            case let error as IngestFailure: message = error.message
            case let error as EmbeddingsError: message = "embedding failed: \(error.message)"
            default:
                logger.error("document ingestion failed", metadata: ["error": "\(String(reflecting: error))"])
                message = "internal error while ingesting the document"
            }
            _ = try? await database.withConnection {
                try await memory.documents.finish(id: document.id, owner: owner, status: .failed, format: nil, chunkCount: 0,
                                                  error: message, now: Date(), on: $0)
            }
        }
    }

    /// Extracts the text on NIO's blocking-work thread pool, never on the cooperative pool (it
    /// reads files, inflates archives, waits for pdftotext).
    private func extract(_ document: MemoryDocument) async throws -> ExtractedText {
        let path = memory.store.path(sha256: document.sha256)
        guard FileManager.default.fileExists(atPath: path) else { throw IngestFailure("the stored file is missing") }
        var limits = TextExtractor.Configuration()
        limits.maxFileBytes = max(limits.maxFileBytes, memory.store.maxFileSize)
        let configuration = limits
        return try await NIOThreadPool.singleton.runIfActive {
            try TextExtractor(configuration: configuration).extract(fileAt: path, declaredName: document.name,
                                                                    contentType: document.contentType)
        }
    }

    private func extendLease(_ document: MemoryDocument) async throws -> Bool {
        try await database.withConnection {
            try await memory.documents.extendLease(id: document.id, owner: owner, leaseSeconds: settings.ingestLeaseSeconds,
                                                   now: Date(), on: $0)
        }
    }

    /// Re-embeds up to 64 chunks stored under another model (the embedder changed), so
    /// searches never mix vectors of two models. Returns whether it found any.
    package func reembedBatch() async throws -> Bool {
        let model = memory.embedder.modelId
        let rows = try await database.withConnection {
            // Two range conditions instead of `<>`: both are probes of `chunks_text_hash_idx`
            // (led by embedding_model), so the idle check costs two index lookups, not a scan.
            try await $0.select().columns("id", "persona_id", "text").from("chunks")
                .where { $0.where("embedding_model", .lessThan, model).orWhere("embedding_model", .greaterThan, model) }
                .limit(64).all()
        }
        guard !rows.isEmpty else { return false }
        let items = try rows.map {
            (id: try $0.decode(column: "id", as: String.self), persona: try $0.decode(column: "persona_id", as: String.self),
             text: try $0.decode(column: "text", as: String.self))
        }
        let vectors = try await memory.embedder.embed(items.map(\.text))
        let byPersona = Dictionary(grouping: zip(items, vectors), by: { $0.0.persona })
        try await database.transaction { tx in
            for (persona, pairs) in byPersona {
                try await memory.chunks.updateEmbeddings(pairs.map { (id: $0.0.id, vector: $0.1) }, personaId: persona, model: model,
                                                         now: Date(), on: tx)
            }
        }
        logger.info("re-embedded chunks under the current model", metadata: ["count": "\(items.count)", "model": "\(model)"])
        return true
    }
}

private struct IngestFailure: Error {
    package var message: String
    package init(_ message: String) { self.message = message }
}

private struct LeaseLost: Error {}
