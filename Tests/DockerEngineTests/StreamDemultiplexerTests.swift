import DockerEngine
import NIOCore
import Testing

@Suite("stream demultiplexer")
struct StreamDemultiplexerTests {
    private func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let length = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)] + payload
    }

    @Test("frames split at every possible byte boundary come out whole and in order")
    func splitsAnywhere() throws {
        let bytes = frame(1, "out-1\n") + frame(2, "err-1\n") + frame(1, "") + frame(1, "out-2\n")
        for cut in 0...bytes.count {
            var demux = Docker.StreamDemultiplexer()
            var chunks = try demux.feed(ByteBuffer(bytes: bytes[..<cut]))
            chunks += try demux.feed(ByteBuffer(bytes: bytes[cut...]))
            try demux.finish()
            #expect(chunks.map(\.stream) == [.stdout, .stderr, .stdout], "cut at \(cut)")
            #expect(chunks.map(\.text) == ["out-1\n", "err-1\n", "out-2\n"], "cut at \(cut)")
        }
    }

    @Test("a stream that stops inside a frame is an error")
    func truncated() throws {
        var demux = Docker.StreamDemultiplexer()
        _ = try demux.feed(ByteBuffer(bytes: Array(frame(1, "hello").dropLast(2))))
        #expect(throws: DockerError.self) { try demux.finish() }
    }

    @Test("an unknown stream type is an error")
    func unknownType() {
        var demux = Docker.StreamDemultiplexer()
        #expect(throws: DockerError.self) { _ = try demux.feed(ByteBuffer(bytes: frame(7, "x"))) }
    }

    @Test("a TTY stream passes through as stdout")
    func raw() throws {
        var demux = Docker.StreamDemultiplexer(multiplexed: false)
        let chunks = try demux.feed(ByteBuffer(string: "\u{1}raw bytes"))
        #expect(chunks == [Docker.OutputChunk(stream: .stdout, bytes: Array("\u{1}raw bytes".utf8))])
    }
}
