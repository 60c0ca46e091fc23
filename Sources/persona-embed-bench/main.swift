import Embeddings
let tok = try WordPieceTokenizer(vocabularyPath: "models/all-MiniLM-L6-v2/vocab.txt")
for t in ["The quick brown fox jumps over the lazy dog.", "Héllo, WORLD!! naïve café", "", "ΟΔΟΣ 中文字 [CLS]x[sep] unaffable", String(repeating: "a", count: 101)] {
    print(tok.encode(t), tok.tokenize(t).map { "\($0.piece)=\(t[$0.range])" })
}
