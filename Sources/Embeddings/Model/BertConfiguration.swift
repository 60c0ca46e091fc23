/// The hyperparameters of a BERT encoder (those of all-MiniLM-L6-v2 by default).
struct BertConfiguration: Sendable, Equatable {
    var vocabularySize = 30522
    var hiddenSize = 384
    var layerCount = 6
    var headCount = 12
    var intermediateSize = 1536
    var maxPositions = 512
    var typeVocabularySize = 2
    var layerNormEpsilon: Float = 1e-12

    var headSize: Int { hiddenSize / headCount }

    static let miniLML6 = BertConfiguration()
}
