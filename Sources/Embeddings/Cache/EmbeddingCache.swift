import PersonaCore
/// A bounded, least-recently-used cache of embedding vectors, keyed by model id and the
/// text's ``ContentHash``; a hit also requires the exact same text (byte for byte), so a
/// hash collision can only cause a miss, never a wrong vector.
public actor EmbeddingCache {
    struct Key: Hashable {
        var modelId: String
        var hash: ContentHash
    }

    private struct Entry {
        var key: Key
        var text: String
        var vector: [Float]
        var newer: Int?
        var older: Int?
    }

    /// The most entries kept; the least recently used entry is evicted beyond it.
    public let capacity: Int
    private var slots: [Key: Int] = [:]
    private var entries: [Entry] = []
    private var newest: Int?
    private var oldest: Int?
    /// Lookups answered from the cache.
    public private(set) var hits = 0
    /// Lookups that found nothing.
    public private(set) var misses = 0

    /// Creates an empty cache.
    /// - Parameter capacity: the most vectors to keep (at least 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The number of cached vectors.
    public var count: Int { entries.count }

    /// The cached vector of `text` under `modelId`, marking it recently used.
    public func vector(for text: String, modelId: String) -> [Float]? {
        let key = Key(modelId: modelId, hash: ContentHash(text))
        guard let slot = slots[key], entries[slot].text.utf8.elementsEqual(text.utf8) else {
            misses += 1
            return nil
        }
        hits += 1
        touch(slot)
        return entries[slot].vector
    }

    /// Stores `vector` for `text` under `modelId`, evicting the least recently used entry
    /// when full. Replaces an entry with the same key.
    public func insert(_ vector: [Float], for text: String, modelId: String) {
        let key = Key(modelId: modelId, hash: ContentHash(text))
        if let slot = slots[key] {
            entries[slot].text = text
            entries[slot].vector = vector
            touch(slot)
            return
        }
        let slot: Int
        if entries.count < capacity {
            slot = entries.count
            entries.append(Entry(key: key, text: text, vector: vector))
        } else {
            // Reuse the oldest slot.
            slot = oldest!
            unlink(slot)
            slots[entries[slot].key] = nil
            entries[slot] = Entry(key: key, text: text, vector: vector)
        }
        slots[key] = slot
        linkAsNewest(slot)
    }

    /// Drops every entry and resets the counters.
    public func removeAll() {
        slots.removeAll()
        entries.removeAll()
        newest = nil
        oldest = nil
        hits = 0
        misses = 0
    }

    private func touch(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private func unlink(_ slot: Int) {
        let entry = entries[slot]
        if let newer = entry.newer { entries[newer].older = entry.older } else { newest = entry.older }
        if let older = entry.older { entries[older].newer = entry.newer } else { oldest = entry.newer }
        entries[slot].newer = nil
        entries[slot].older = nil
    }

    private func linkAsNewest(_ slot: Int) {
        entries[slot].older = newest
        entries[slot].newer = nil
        if let newest { entries[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }
}
