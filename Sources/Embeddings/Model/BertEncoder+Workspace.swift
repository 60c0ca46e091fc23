extension BertEncoder {
    /// Scratch buffers for one forward pass over a packed batch.
    final class Workspace {
        let tokens: Int
        /// The rows of each sequence in the packed matrices.
        let spans: [Range<Int>]
        let longest: Int
        let hidden: UnsafeMutablePointer<Float>
        let qkv: UnsafeMutablePointer<Float>
        let context: UnsafeMutablePointer<Float>
        let intermediate: UnsafeMutablePointer<Float>
        /// One `[longest × longest]` attention score matrix per thread.
        let scores: UnsafeMutablePointer<Float>

        init(sequences: [[Int]], configuration c: BertConfiguration, threads: Int) {
            var spans: [Range<Int>] = []
            var row = 0
            for sequence in sequences {
                spans.append(row..<(row + sequence.count))
                row += sequence.count
            }
            self.tokens = row
            self.spans = spans
            self.longest = sequences.map(\.count).max() ?? 0
            hidden = .allocate(capacity: row * c.hiddenSize)
            qkv = .allocate(capacity: row * 3 * c.hiddenSize)
            context = .allocate(capacity: row * c.hiddenSize)
            intermediate = .allocate(capacity: row * c.intermediateSize)
            scores = .allocate(capacity: longest * longest * max(1, threads))
        }

        func deallocate() {
            hidden.deallocate()
            qkv.deallocate()
            context.deallocate()
            intermediate.deallocate()
            scores.deallocate()
        }
    }
}
