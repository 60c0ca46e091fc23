import NIOCore

extension Docker {
    /// Which standard stream a piece of container output came from.
    public enum StandardStream: UInt8, Sendable, Hashable {
        case stdin = 0
        case stdout = 1
        case stderr = 2
    }

    /// A piece of container output (a log line or part of one, exec output...).
    public struct OutputChunk: Sendable, Hashable {
        public var stream: StandardStream
        public var bytes: [UInt8]

        public init(stream: StandardStream, bytes: [UInt8]) {
            self.stream = stream
            self.bytes = bytes
        }

        /// The bytes as UTF-8 text (invalid sequences replaced).
        public var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// All of a command's or container's output, stdout and stderr kept apart.
    public struct Output: Sendable, Hashable {
        public var stdout: [UInt8] = []
        public var stderr: [UInt8] = []

        public init(stdout: [UInt8] = [], stderr: [UInt8] = []) {
            self.stdout = stdout
            self.stderr = stderr
        }

        /// stdout as UTF-8 text.
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// stderr as UTF-8 text.
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

        mutating func append(_ chunk: OutputChunk) {
            switch chunk.stream {
            case .stdout, .stdin: stdout += chunk.bytes
            case .stderr: stderr += chunk.bytes
            }
        }
    }

    /// Splits the Engine's multiplexed output stream into stdout and stderr chunks.
    ///
    /// Without a TTY, logs, attach and exec output come in frames: one byte of stream
    /// type (0 stdin, 1 stdout, 2 stderr), three zero bytes, a big-endian `UInt32`
    /// payload length, then the payload. Frames do not follow network reads, so bytes
    /// are buffered until a frame is complete. With a TTY the stream is raw stdout.
    public struct StreamDemultiplexer: Sendable {
        private var pending = ByteBuffer()
        private let multiplexed: Bool

        /// - Parameter multiplexed: `false` for a container or exec with a TTY.
        public init(multiplexed: Bool = true) {
            self.multiplexed = multiplexed
        }

        /// Adds bytes read from the engine and returns the chunks now complete.
        /// - Throws: ``DockerError`` `invalidResponse` on a frame with an unknown stream type.
        public mutating func feed(_ buffer: ByteBuffer) throws -> [OutputChunk] {
            guard multiplexed else {
                return buffer.readableBytes == 0 ? [] : [OutputChunk(stream: .stdout, bytes: Array(buffer.readableBytesView))]
            }
            var buffer = buffer
            pending.writeBuffer(&buffer)
            var chunks: [OutputChunk] = []
            while pending.readableBytes >= 8 {
                let start = pending.readerIndex
                // Both reads are within the 8 readable bytes checked above.
                let type = pending.getInteger(at: start, as: UInt8.self)!
                let length = Int(pending.getInteger(at: start + 4, endianness: .big, as: UInt32.self)!)
                guard let stream = StandardStream(rawValue: type) else {
                    throw DockerError(.invalidResponse, "multiplexed stream has a frame of unknown type \(type)")
                }
                guard pending.readableBytes >= 8 + length else { break }
                pending.moveReaderIndex(forwardBy: 8)
                let payload = pending.readBytes(length: length)!
                if !payload.isEmpty { chunks.append(OutputChunk(stream: stream, bytes: payload)) }
            }
            pending.discardReadBytes()
            return chunks
        }

        /// Checks that the stream ended on a frame boundary.
        /// - Throws: ``DockerError`` `invalidResponse` when a frame was cut off.
        public func finish() throws {
            if multiplexed, pending.readableBytes > 0 {
                throw DockerError(.invalidResponse, "multiplexed stream ended inside a frame (\(pending.readableBytes) bytes left)")
            }
        }
    }
}
