import Foundation
import PersonaCore
import PersonaKit

/// Hybrid tool ranking over one catalog snapshot, with no I/O: a vector score (cosine of the
/// query's and the tool's embeddings of ``ToolSearchIndex/text(_:)``) blended with a keyword
/// score (BM25 over the name, description and input property names, as a share of what the
/// query's words could score at most, so one common word matched is worth little), plus a
/// bonus that puts a tool named in the query first.
package struct ToolSearchIndex: Sendable {
    /// Weights of the blend (vector + keyword = 1) and the exact-name bonus, which exceeds
    /// anything the blend can give so a named tool always ranks first.
    package static let vectorWeight: Float = 0.75
    package static let exactNameBonus: Float = 2
    static let k1: Float = 1.2
    static let b: Float = 0.75

    /// One indexed tool (the newest version of its name).
    package struct Entry: Sendable {
        package var id: String
        package var name: String
        package var text: String
        package var vector: [Float]?

        package init(id: String, name: String, text: String, vector: [Float]?) {
            self.id = id
            self.name = name
            self.text = text
            self.vector = vector
        }
    }

    /// One ranked tool.
    package struct Hit: Sendable, Equatable {
        package var id: String
        package var name: String
        /// Cosine similarity of the query and the tool's text (`nil` without a vector).
        package var similarity: Float?
        /// BM25 of the query's words in the tool's text.
        package var keyword: Float
        /// What the ranking used: the blend, plus the bonus when the query names the tool.
        package var score: Float
    }

    package let entries: [Entry]
    private let matrix: VectorMatrix
    private let terms: [[String: Int]]
    private let lengths: [Float]
    private let averageLength: Float
    private let documentFrequency: [String: Int]
    private let rowOfId: [String: Int]

    package init(entries: [Entry], dimension: Int) {
        self.entries = entries
        var matrix = VectorMatrix(dimension: dimension)
        matrix.reserveCapacity(entries.count)
        var terms: [[String: Int]] = []
        var frequency: [String: Int] = [:]
        for entry in entries {
            if let vector = entry.vector, vector.count == dimension {
                matrix.upsert(id: entry.id, vector: VectorMatrix.normalized(vector), curated: false)
            }
            var counts: [String: Int] = [:]
            // The name's words count twice: they say most precisely what the tool is for.
            for token in Self.tokens(entry.name) + Self.tokens(entry.name) + Self.tokens(entry.text) { counts[token, default: 0] += 1 }
            for token in counts.keys { frequency[token, default: 0] += 1 }
            terms.append(counts)
        }
        self.matrix = matrix
        self.terms = terms
        self.lengths = terms.map { Float($0.values.reduce(0, +)) }
        self.averageLength = lengths.isEmpty ? 1 : max(1, lengths.reduce(0, +) / Float(lengths.count))
        self.documentFrequency = frequency
        self.rowOfId = Dictionary(entries.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The text a tool is embedded and matched by: its name in words, its description and the
    /// names of its input properties.
    package static func text(_ manifest: ToolManifest) -> String {
        let properties = manifest.inputSchema["properties"]?.objectValue?.keys.sorted() ?? []
        let name = manifest.name.split(whereSeparator: { $0 == "_" || $0 == "-" }).joined(separator: " ")
        return "\(name): \(manifest.description)" + (properties.isEmpty ? "" : " Inputs: \(properties.joined(separator: ", ")).")
    }

    /// What ranks the tools: the hybrid score (what search uses), or one of its two parts alone
    /// (the baselines `scripts/bench-tools` compares it with).
    package enum Ranking: String, Sendable, CaseIterable {
        case hybrid, keyword, vector
    }

    /// The best `limit` tools for `query` among those `allowed` (all when `nil`).
    /// - Parameter queryVector: the query's embedding under the same model, if there is one.
    /// - Parameter vectorWeight: the vector score's share of the blend (the keyword score has the
    ///   rest); ``vectorWeight`` unless a benchmark asks for another.
    package func search(_ query: String, queryVector: [Float]?, limit: Int, allowed: Set<String>? = nil,
                        ranking: Ranking = .hybrid, vectorWeight: Float = ToolSearchIndex.vectorWeight) -> [Hit] {
        guard limit > 0, !entries.isEmpty else { return [] }
        var similarity = [Float?](repeating: nil, count: entries.count)
        if let queryVector, queryVector.count == matrix.dimension, matrix.count > 0 {
            let scores = matrix.dotProducts(VectorMatrix.normalized(queryVector))
            for (row, id) in matrix.ids.enumerated() { if let index = rowOfId[id] { similarity[index] = scores[row] } }
        }
        let keywords = keywordScores(query)
        let best = max(keywordCeiling(query), 1e-6)
        let named = Set(Self.words(query))
        var hits: [Hit] = []
        hits.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() where allowed?.contains(entry.name) ?? true {
            let vector = similarity[index] ?? 0
            var score: Float
            switch ranking {
            case .hybrid:
                score = vectorWeight * vector + (1 - vectorWeight) * keywords[index] / best
                if named.contains(entry.name) { score += Self.exactNameBonus }
            case .keyword: score = keywords[index]
            case .vector: score = vector
            }
            hits.append(Hit(id: entry.id, name: entry.name, similarity: similarity[index], keyword: keywords[index], score: score))
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.name < $1.name }
        return Array(hits.prefix(limit))
    }

    /// The most the query's words could score: each word's idf times BM25's saturation
    /// limit, a word no tool uses counting as the rarest.
    func keywordCeiling(_ query: String) -> Float {
        let n = Float(entries.count)
        return Set(Self.tokens(query)).reduce(0) { sum, term in
            let df = Float(documentFrequency[term] ?? 0)
            return sum + log(1 + (n - df + 0.5) / (df + 0.5)) * (Self.k1 + 1)
        }
    }

    /// BM25 of the query's words in every entry.
    func keywordScores(_ query: String) -> [Float] {
        let queryTerms = Set(Self.tokens(query))
        let n = Float(entries.count)
        var scores = [Float](repeating: 0, count: entries.count)
        for term in queryTerms {
            guard let df = documentFrequency[term] else { continue }
            let idf = log(1 + (n - Float(df) + 0.5) / (Float(df) + 0.5))
            for (index, counts) in terms.enumerated() {
                guard let tf = counts[term].map(Float.init) else { continue }
                scores[index] += idf * tf * (Self.k1 + 1) / (tf + Self.k1 * (1 - Self.b + Self.b * lengths[index] / averageLength))
            }
        }
        return scores
    }

    /// The query's words as written (tool names keep their underscores).
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }.map(String.init)
    }

    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "get", "i", "in", "into", "is", "it", "its",
        "me", "my", "of", "on", "or", "our", "please", "so", "that", "the", "this", "to", "up", "us", "we", "with", "you", "your",
    ]

    /// Lower-case word stems, stop words left out (underscores split names into words).
    static func tokens(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.compactMap { word in
            let token = stem(String(word))
            return stopWords.contains(token) || token.isEmpty ? nil : token
        }
    }

    /// A light suffix stripper (plurals, -ing, -ed, a final e), enough for "files" to meet
    /// "file" and "resizing" to meet "resize".
    static func stem(_ word: String) -> String {
        var w = word
        if w.count > 4, w.hasSuffix("ies") { return String(w.dropLast(3)) + "y" }
        if w.count > 5, w.hasSuffix("ing") {
            w = String(w.dropLast(3))
        } else if w.count > 4, w.hasSuffix("ed") {
            w = String(w.dropLast(2))
        } else if w.count > 3, w.hasSuffix("s"), !w.hasSuffix("ss") {
            w = String(w.dropLast())
        }
        if w.count > 4, w.hasSuffix("e") { w = String(w.dropLast()) }
        return w
    }
}
