import AsyncHTTPClient
import NIOCore

extension Docker {
    /// Container output as it arrives: stdout and stderr chunks, demultiplexed.
    ///
    /// Returned by logs and exec; it ends when the engine closes the stream (the
    /// container or command exited, or `follow` was off). Iterate it once.
    public struct OutputSequence: AsyncSequence, Sendable {
        public typealias Element = OutputChunk

        let client: Client
        let body: HTTPClientResponse.Body
        let multiplexed: Bool
        let context: String

        public func makeAsyncIterator() -> Iterator {
            Iterator(client: client, body: body.makeAsyncIterator(), demultiplexer: StreamDemultiplexer(multiplexed: multiplexed), context: context)
        }

        /// Reads the sequence to its end, keeping stdout and stderr apart.
        public func collect() async throws -> Output {
            var output = Output()
            for try await chunk in self { output.append(chunk) }
            return output
        }

        public struct Iterator: AsyncIteratorProtocol {
            let client: Client
            var body: HTTPClientResponse.Body.AsyncIterator
            var demultiplexer: StreamDemultiplexer
            let context: String
            var ready: [OutputChunk] = []
            var finished = false

            public mutating func next() async throws -> OutputChunk? {
                while ready.isEmpty {
                    if finished { return nil }
                    let buffer: ByteBuffer?
                    do {
                        buffer = try await body.next()
                    } catch {
                        throw client.transportError(error, while: context)
                    }
                    guard let buffer else {
                        finished = true
                        try demultiplexer.finish()
                        return nil
                    }
                    ready = try demultiplexer.feed(buffer)
                }
                return ready.removeFirst()
            }
        }
    }
}
