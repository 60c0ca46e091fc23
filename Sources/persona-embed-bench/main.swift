import Embeddings
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
let args = CommandLine.arguments
let input = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: args[2])))
let tok = try WordPieceTokenizer(vocabularyPath: args[1])
let offs = input.map { text in tok.tokenize(text).map { t in [text.unicodeScalars.distance(from: text.startIndex, to: t.range.lowerBound), text.unicodeScalars.distance(from: text.startIndex, to: t.range.upperBound)] } }
print(String(decoding: try JSONEncoder().encode(offs), as: UTF8.self))
