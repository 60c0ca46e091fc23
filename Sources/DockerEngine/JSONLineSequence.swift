import AsyncHTTPClient
import NIOCore

extension Docker {
    /// A streamed Engine answer of newline-separated JSON documents (stats, build and
    /// import progress), decoded one by one as they arrive. Iterate it once.
    public struct JSONLineSequence<Element: Decodable & Sendable>: AsyncSequence, Sendable {
        let client: Client
        let body: HTTPClientResponse.Body
        let context: String

        public func makeAsyncIterator() -> Iterator {
            Iterator(client: client, body: body.makeAsyncIterator(), context: context)
        }

        public struct Iterator: AsyncIteratorProtocol {
            let client: Client
            var body: HTTPClientResponse.Body.AsyncIterator
            let context: String
            var lines = LineSplitter()
            var ready: [[UInt8]] = []
            var finished = false

            public mutating func next() async throws -> Element? {
                while true {
                    if !ready.isEmpty {
                        let line = ready.removeFirst()
                        return try Client.decode(Element.self, from: ByteBuffer(bytes: line), while: context)
                    }
                    if finished { return nil }
                    let buffer: ByteBuffer?
                    do {
                        buffer = try await body.next()
                    } catch {
                        throw client.transportError(error, while: context)
                    }
                    if let buffer {
                        ready = lines.feed(buffer)
                    } else {
                        finished = true
                        ready = lines.finish()
                    }
                }
            }
        }
    }

    /// Splits bytes into non-blank lines, across reads.
    struct LineSplitter: Sendable {
        private var pending: [UInt8] = []

        mutating func feed(_ buffer: ByteBuffer) -> [[UInt8]] {
            pending.append(contentsOf: buffer.readableBytesView)
            var lines: [[UInt8]] = []
            var start = 0
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[start..<newline])
                if !Self.isBlank(line) { lines.append(line) }
                start = newline + 1
            }
            pending.removeFirst(start)
            return lines
        }

        mutating func finish() -> [[UInt8]] {
            defer { pending = [] }
            return Self.isBlank(pending) ? [] : [pending]
        }

        private static func isBlank(_ line: [UInt8]) -> Bool {
            line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
        }
    }
}
