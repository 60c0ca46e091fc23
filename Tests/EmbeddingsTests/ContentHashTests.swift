import Testing
import Embeddings
import PersonaCore

@Suite("Content hash")
struct ContentHashTests {
    // Expected values from the reference MurmurHash3_x64_128 (Python mmh3.hash128, seed 0).
    @Test("matches MurmurHash3 x64-128 on known vectors", arguments: [
        ("", "00000000000000000000000000000000"),
        ("a", "85555565f6597889e6b53a48510e895a"),
        ("hello", "cbd8a7b341bd9b025b1e906a48ae1d19"),
        ("0123456789abcdef", "4be06d94cf4ad1a787c35b5c63a708da"),
        ("0123456789abcdefg", "8e32612daa45f9de0800f4c206c372ee"),
        ("The quick brown fox jumps over the lazy dog.", "cd99481f9ee902c9695da1a38987b6e7"),
        ("Héllo, WORLD!! naïve café", "b7063b640998b733a648f68ab6253082"),
    ])
    func knownVectors(text: String, hex: String) {
        #expect(ContentHash(text).description == hex)
    }

    @Test("canonically equivalent texts hash differently (bytes, not Characters)")
    func bytesNotCharacters() {
        #expect(ContentHash("caf\u{E9}") != ContentHash("cafe\u{301}"))
    }
}
