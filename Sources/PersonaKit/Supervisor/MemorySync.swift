#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The in-container memory cache's side of the internal API.
extension SupervisorRoutes {
    /// `GET ?after=VERSION&limit=N` -> ``MemoryChangesResponse``: the persona's memory change
    /// log after `VERSION` (a chunk appears once, at its latest change), oldest first.
    public static let memoryChanges = "/internal/v1/supervisors/memory/changes"
    /// `POST` ``MemoryEmbedRequest`` -> ``MemoryEmbedResponse``: query embeddings with the
    /// control plane's current model, for vector search inside the container.
    public static let memoryEmbed = "/internal/v1/supervisors/memory/embed"
}

/// One page of a persona's memory change log.
public struct MemoryChangesResponse: Codable, Sendable {
    /// Changes in version order. Apply them all, then continue from `nextVersion`.
    public var changes: [MemoryChangeEntry]
    /// The cursor for the next request (the last version in `changes`, or `after` if none).
    public var nextVersion: Int64
    /// More changes wait after `nextVersion`.
    public var hasMore: Bool
    /// The control plane's current embedding model and its dimension: vectors of another
    /// model are stale (they will be re-sent once re-embedded).
    public var model: String
    public var dimension: Int

    public init(changes: [MemoryChangeEntry], nextVersion: Int64, hasMore: Bool, model: String, dimension: Int) {
        self.changes = changes
        self.nextVersion = nextVersion
        self.hasMore = hasMore
        self.model = model
        self.dimension = dimension
    }
}

/// A chunk's state at a change: present (upsert it) or deleted (drop it).
public struct MemoryChangeEntry: Codable, Sendable, Equatable {
    public var version: Int64
    public var chunkId: String
    public var deleted: Bool
    public var documentId: String?
    public var documentName: String?
    public var curated: Bool
    public var text: String?
    /// The model that made `vector`.
    public var model: String?
    /// Little-endian float32 values, base64 (see ``MemoryVector``).
    public var vector: String?

    public init(version: Int64, chunkId: String, deleted: Bool, documentId: String? = nil, documentName: String? = nil,
                curated: Bool = false, text: String? = nil, model: String? = nil, vector: String? = nil) {
        self.version = version
        self.chunkId = chunkId
        self.deleted = deleted
        self.documentId = documentId
        self.documentName = documentName
        self.curated = curated
        self.text = text
        self.model = model
        self.vector = vector
    }
}

public struct MemoryEmbedRequest: Codable, Sendable {
    /// At most 16 texts of at most 4000 characters each.
    public var texts: [String]
    public init(texts: [String]) { self.texts = texts }
}

public struct MemoryEmbedResponse: Codable, Sendable {
    public var model: String
    public var dimension: Int
    /// One base64 vector (``MemoryVector``) per text, in order.
    public var vectors: [String]
    public init(model: String, dimension: Int, vectors: [String]) {
        self.model = model
        self.dimension = dimension
        self.vectors = vectors
    }
}

/// The wire form of a vector: little-endian float32 values, base64.
public enum MemoryVector {
    public static func encode(_ vector: [Float]) -> String {
        Data(bytes(vector)).base64EncodedString()
    }

    /// `nil` when the text is not base64 of a whole number of floats.
    public static func decode(_ text: String) -> [Float]? {
        Data(base64Encoded: text).flatMap { floats(Array($0)) }
    }

    /// The little-endian float32 bytes of `vector` (also how the caches store vectors).
    public static func bytes(_ vector: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            bytes += [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                      UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        }
        return bytes
    }

    /// The floats of little-endian float32 `bytes`; `nil` unless a whole number of floats.
    public static func floats(_ bytes: [UInt8]) -> [Float]? {
        guard bytes.count % 4 == 0 else { return nil }
        return bytes.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count, by: 4).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0, as: UInt32.self)))
            }
        }
    }
}
