import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the router sees it: method, path, query, headers and the whole body.
public struct APIRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]
}

/// A response: status, headers and body.
public struct APIResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// HTTP/1.1 server over NIO for the supervisor API: one task per connection, requests on a
/// connection answered in order, bodies up to ``maxBodyBytes``.
public struct SupervisorHTTPServer: Sendable {
    public typealias Handler = @Sendable (APIRequest) async -> APIResponse

    let handler: Handler
    let logger: Logger
    let maxBodyBytes: Int

    public init(maxBodyBytes: Int = 32 << 20, logger: Logger, handler: @escaping Handler) {
        self.handler = handler
        self.logger = logger
        self.maxBodyBytes = maxBodyBytes
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Binds a unix socket (replacing a stale socket file) with mode `0660`.
    public func bindUnixSocket(_ path: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> BoundServer {
        let server = try await ServerBootstrap(group: group)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                Self.initialize(channel)
            }
        _ = chmod(path, 0o660)
        return BoundServer(channel: server, description: "unix:\(path)")
    }

    /// Binds TCP `host:port` (port 0 picks one).
    public func bindTCP(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> BoundServer {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in Self.initialize(channel) }
        return BoundServer(channel: server, description: "tcp:\(host):\(server.channel.localAddress?.port ?? port)")
    }

    private static func initialize(_ channel: any Channel) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            return try Connection(wrappingChannelSynchronously: channel)
        }
    }

    /// A listening socket; ``serve(_:)`` accepts until the channel closes.
    public struct BoundServer: Sendable {
        let channel: NIOAsyncChannel<Connection, Never>
        public let description: String

        /// The TCP port, when bound to TCP.
        public var port: Int? { channel.channel.localAddress?.port }

        /// Stops accepting.
        public func close() {
            channel.channel.close(promise: nil)
        }
    }

    /// Accepts connections on `server` until it is closed or the task is cancelled (which
    /// closes it). The accept loop itself is never cancelled: it drains every connection the
    /// listener accepted before it closed and hands each to a handler, because NIO traps on an
    /// accepted connection that is dropped without being closed through `executeThenClose`
    /// (a client connecting during shutdown would otherwise crash PID 1). Handlers still
    /// running when the listener has closed are cancelled.
    public func serve(_ server: BoundServer) async {
        let logger = self.logger
        await withTaskCancellationHandler {
            await Task.detached { [self] in
                do {
                    try await withThrowingDiscardingTaskGroup { group in
                        try await server.channel.executeThenClose { inbound in
                            for try await connection in inbound {
                                group.addTask { await self.handle(connection) }
                            }
                        }
                        group.cancelAll()
                    }
                } catch {
                    logger.debug("listener ended", metadata: ["listener": "\(server.description)", "error": "\(error)"])
                }
            }.value
        } onCancel: {
            server.close()
        }
    }

    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body = []
                        tooLarge = false
                    case .body(var buffer):
                        if body.count + buffer.readableBytes > maxBodyBytes {
                            tooLarge = true
                        } else {
                            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                        }
                    case .end:
                        guard let h = head else { continue }
                        let response: APIResponse
                        if tooLarge {
                            response = APIErrors.response(SupervisorError("body_too_large", "request body too large", status: 413), traceId: "")
                        } else {
                            response = await handler(Self.request(h, body: body))
                        }
                        let keepAlive = h.isKeepAlive && !tooLarge
                        var headers = HTTPHeaders(response.headers)
                        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
                        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
                        try await outbound.write(.head(HTTPResponseHead(version: h.version, status: response.status, headers: headers)))
                        if !response.body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body)))) }
                        try await outbound.write(.end(nil))
                        if !keepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    static func request(_ head: HTTPRequestHead, body: [UInt8]) -> APIRequest {
        let uri = head.uri
        let pathPart = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if pathPart.count > 1 {
            for pair in pathPart[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = percentDecode(String(kv[0]))
                query[key] = kv.count > 1 ? percentDecode(String(kv[1])) : ""
            }
        }
        return APIRequest(method: head.method, path: percentDecode(String(pathPart.first ?? "/")), query: query,
                          headers: head.headers, body: body)
    }
}

/// Decodes `%XX` escapes and `+` (as a space, in query values).
func percentDecode(_ text: String) -> String {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let byte = iterator.next() {
        if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
           let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
            bytes.append(value)
        } else if byte == UInt8(ascii: "+") {
            bytes.append(UInt8(ascii: " "))
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

#if canImport(Glibc)
import Glibc
#endif
