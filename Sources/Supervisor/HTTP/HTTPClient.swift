import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client over NIO: one connection per request (`Connection: close`),
/// unix socket or TCP, a response size cap and an overall deadline. Used for reports to the
/// control plane, `http_fetch`, and `persona-supervisor status`. Plain HTTP only.
public struct SimpleHTTPClient: Sendable {
    /// Where to connect.
    public enum Target: Sendable, Hashable {
        case unixSocket(String)
        case tcp(host: String, port: Int)
    }

    /// A complete response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// The body was cut at the size cap.
        public var truncated: Bool

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    /// Sends one request and reads the whole response.
    /// - Throws: ``SupervisorError`` `connect_failed`, `timeout`, `http_error`.
    public func send(
        _ target: Target, method: HTTPMethod, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(10), maxResponseBytes: Int = 16 << 20, truncateInsteadOfFailing: Bool = false
    ) async throws(SupervisorError) -> Response {
        do {
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask {
                    try await self.exchange(target, method: method, path: path, headers: headers, body: body,
                                            maxResponseBytes: maxResponseBytes, truncate: truncateInsteadOfFailing)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw SupervisorError("timeout", "no complete answer within \(timeout)", status: 504)
                }
                return response
            }
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError("connect_failed", "could not reach \(target)", status: 502, underlying: error)
        }
    }

    private func exchange(
        _ target: Target, method: HTTPMethod, path: String, headers: [(String, String)], body: [UInt8]?,
        maxResponseBytes: Int, truncate: Bool
    ) async throws -> Response {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(.seconds(5))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
            }
        }
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        let hostHeader: String
        switch target {
        case .unixSocket(let socketPath):
            channel = try await bootstrap.connect(unixDomainSocketPath: socketPath, channelInitializer: initializer)
            hostHeader = "localhost"
        case .tcp(let host, let port):
            channel = try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
            hostHeader = port == 80 ? host : "\(host):\(port)"
        }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: hostHeader)
            head.headers.add(name: "Connection", value: "close")
            head.headers.add(name: "User-Agent", value: "persona-supervisor/\(SupervisorVersion.current)")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let body {
                head.headers.add(name: "Content-Length", value: String(body.count))
            } else if method == .POST || method == .PUT {
                head.headers.add(name: "Content-Length", value: "0")
            }
            // One write: a server that answers as soon as it has the head (a GET) and closes
            // must not find a separate `.end` still to be written on a closed channel.
            var parts: [HTTPClientRequestPart] = [.head(head)]
            if let body, !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            parts.append(.end(nil))
            try await outbound.write(contentsOf: parts)
            var response = Response(status: 0, headers: [], body: [], truncated: false)
            for try await part in inbound {
                switch part {
                case .head(let head):
                    response.status = Int(head.status.code)
                    response.headers = head.headers.map { ($0.name, $0.value) }
                case .body(var buffer):
                    let room = maxResponseBytes - response.body.count
                    if buffer.readableBytes > room {
                        guard truncate else { throw SupervisorError("response_too_large", "response larger than \(maxResponseBytes) bytes", status: 502) }
                        response.body.append(contentsOf: buffer.readBytes(length: max(0, room)) ?? [])
                        response.truncated = true
                        return response
                    }
                    response.body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                case .end:
                    return response
                }
            }
            guard response.status != 0 else { throw SupervisorError("http_error", "connection closed without a response", status: 502) }
            return response
        }
    }
}

/// The supervisor's version, reported in `/v1/info`, registration and the user agent.
public enum SupervisorVersion {
    public static let current = "0.1.0"
}
