import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A scripted stand-in for the engine on a unix socket, for what the real one cannot be
/// made to do on demand (drop a stream mid-way, come back, go away for good).
/// `script` gets each request's index and URI and says how to answer it.
final class StubEngine: Sendable {
    enum Reply: Sendable {
        /// A complete JSON answer.
        case json(String, status: Int = 200)
        /// A chunked answer whose chunks are sent at once; then the connection is closed
        /// without ending the body (`close`), or held open.
        case stream([String], close: Bool)
        /// Close the connection without answering.
        case drop
    }

    let socketPath: String
    private let channel: any Channel
    private let recorder: Recorder

    /// URIs received so far, in order.
    var receivedURIs: [String] { recorder.uris.withLock { $0 } }

    private init(socketPath: String, channel: any Channel, recorder: Recorder) {
        self.socketPath = socketPath
        self.channel = channel
        self.recorder = recorder
    }

    static func start(script: @escaping @Sendable (Int, String) -> Reply) async throws -> StubEngine {
        let path = "/tmp/persona-stub-\(UUID().uuidString.prefix(8)).sock"
        let recorder = Recorder()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(Handler(recorder: recorder, script: script))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        return StubEngine(socketPath: path, channel: channel, recorder: recorder)
    }

    /// Stops listening; the socket file goes away, so new connections fail.
    func stop() async throws {
        try await channel.close()
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    private final class Recorder: Sendable {
        let uris = Mutex<[String]>([])
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = ByteBuffer

        private let recorder: Recorder
        private let script: @Sendable (Int, String) -> Reply
        private var uri = ""

        init(recorder: Recorder, script: @escaping @Sendable (Int, String) -> Reply) {
            self.recorder = recorder
            self.script = script
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): uri = head.uri
            case .body: break
            case .end:
                let index = recorder.uris.withLock { uris in
                    uris.append(uri)
                    return uris.count - 1
                }
                answer(script(index, uri), context: context)
            }
        }

        private func answer(_ reply: Reply, context: ChannelHandlerContext) {
            let date = "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\nAPI-Version: 1.41\r\n"
            switch reply {
            case .json(let body, let status):
                let head = "HTTP/1.1 \(status) Stub\r\nContent-Type: application/json\r\n\(date)Content-Length: \(body.utf8.count)\r\n\r\n"
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head + body)), promise: nil)
            case .stream(let chunks, let close):
                var text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\(date)Transfer-Encoding: chunked\r\n\r\n"
                for chunk in chunks {
                    text += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
                }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
                if close { context.close(promise: nil) }
            case .drop:
                context.close(promise: nil)
            }
        }
    }
}
