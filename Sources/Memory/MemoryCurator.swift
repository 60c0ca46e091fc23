import DocumentText
import Foundation
import Logging
import PersonaKit
import ServiceLifecycle
import SQLKit
import LLM
import PersonaStorage
import PersonaCore

/// The seed's memory curator: periodically, for each persona with enough uncurated chunks
/// not yet summarised, asks the LLM to summarise the oldest batch into durable notes, stores
/// the summary as curated chunks (embedded, with `sourceChunkIds`) and marks the sources as
/// summarised (`curated_into`), in one transaction. Search prefers curated chunks within a
/// bounded boost.
public struct MemoryCurator: Service {
    package let database: Database
    package let memory: MemoryService
    /// Opened once migrations ran; loops wait on it before their first query.
    package let startup: Gate
    package let llm: LLMClient
    package let logger: Logger

    package var settings: MemorySettings { memory.settings }

    package init(database: Database, memory: MemoryService, startup: Gate, llm: LLMClient, logger: Logger) {
        self.database = database
        self.memory = memory
        self.startup = startup
        self.llm = llm
        self.logger = logger
    }

    public func run() async throws {
        await startup.wait()
        guard settings.curatorIntervalSeconds > 0 else {
            // Switched off: stay until shutdown (a service that returns ends the whole group).
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(settings.curatorIntervalSeconds)) }
            guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
            do {
                _ = try await curateOnce()
            } catch {
                logger.warning("memory curation failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// One pass over all personas. Returns the ids of the curated chunks it created.
    public func curateOnce() async throws -> [String] {
        let model = memory.embedder.modelId
        let personas = try await database.withConnection { db in
            try await db.raw("""
                SELECT persona_id FROM chunks
                WHERE is_curated = \(bind: false) AND curated_into IS NULL AND embedding_model = \(bind: model)
                GROUP BY persona_id HAVING COUNT(*) >= \(bind: settings.curatorMinChunks)
                """).all().map { try $0.decode(column: "persona_id", as: String.self) }
        }
        var created: [String] = []
        for persona in personas {
            created += try await curate(personaId: persona)
        }
        return created
    }

    package func curate(personaId: String) async throws -> [String] {
        let model = memory.embedder.modelId
        let sources = try await database.withConnection { db in
            try await db.select().columns("id", "text").from("chunks").where("persona_id", .equal, personaId)
                .where("is_curated", .equal, false).where(SQLIdentifier("curated_into"), .is, SQLLiteral.null)
                .where("embedding_model", .equal, model).orderBy("id").limit(settings.curatorBatchSize).all()
                .map { (id: try $0.decode(column: "id", as: String.self), text: try $0.decode(column: "text", as: String.self)) }
        }
        guard sources.count >= settings.curatorMinChunks else { return [] }
        let excerpts = sources.enumerated().map { "[\($0.offset + 1)] \($0.element.text)" }.joined(separator: "\n\n")
        let request = Chat.Request(model: settings.curatorModel, messages: [
            Chat.Message(role: "system", content: """
                You curate a persona's long-term memory. Summarise the numbered excerpts into concise, factual notes \
                that keep names, numbers, dates and decisions. Write plain sentences grouped in short paragraphs; \
                do not invent anything that is not in the excerpts.
                """),
            Chat.Message(role: "user", content: excerpts),
        ], temperature: 0.2)
        let answer = try await llm.complete(request)
        guard let summary = answer.message.content?.trimmingCharacters(in: .whitespacesAndNewlines), !summary.isEmpty else {
            logger.warning("the curator model returned an empty summary", metadata: ["persona_id": "\(personaId)"])
            return []
        }
        let chunker = try TextChunker(tokenizer: try await memory.embedder.tokenizer(),
                                      configuration: .init(maxTokens: settings.chunkTokens, overlapTokens: settings.chunkOverlapTokens))
        let pieces = chunker.chunk(summary)
        let vectors = try await memory.embedder.embed(pieces.map(\.text))
        let sourceIds = sources.map(\.id)
        let chunks = zip(pieces, vectors).map { piece, vector in
            NewChunk(id: Identifier.make(), documentId: nil, index: piece.index, text: piece.text, startOffset: piece.startOffset,
                     endOffset: piece.endOffset, tokenCount: piece.tokenCount, curated: true, sourceChunkIds: sourceIds,
                     embedding: vector)
        }
        guard let first = chunks.first else { return [] }
        try await database.transaction { tx in
            try await memory.chunks.insert(chunks, personaId: personaId, model: model, now: Date(), on: tx)
            for batch in sourceIds.chunked(into: 500) {
                try await tx.update("chunks").set("curated_into", to: first.id).where("id", .in, Array(batch)).run()
            }
        }
        logger.info("curated memory", metadata: ["persona_id": "\(personaId)", "sources": "\(sources.count)", "curated": "\(chunks.count)"])
        return chunks.map(\.id)
    }
}
