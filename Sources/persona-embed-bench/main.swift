import Embeddings
let e = try MiniLMEmbedder(modelDirectory: "models/all-MiniLM-L6-v2", configuration: .init(threads: 1))
let v = try await e.embed(["The quick brown fox jumps over the lazy dog.", "Hello world"])
print(v.map { Array($0.prefix(5)) })
