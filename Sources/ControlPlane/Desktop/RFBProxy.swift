import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization

/// One desktop session: a TCP connection to the persona's VNC server, spliced to a browser's
/// WebSocket after two RFB 3.8 handshakes (RFC 6143 §7.1-7.2):
/// - with the server, as a client doing VNC authentication with the persona's password;
/// - with the browser, as a server offering only security type None;
/// then both ways byte for byte (client and server init, framebuffer updates, input).
/// The browser's first byte reaches the server only after the server accepted the password,
/// so nothing the browser sends can go around the authentication.
struct RFBProxy {
    let host: String
    let port: Int
    let password: String
    let handshakeTimeout: Duration
    let logger: Logger

    static let version = Array("RFB 003.008\n".utf8)

    struct Counts: Sendable {
        var toBrowser = 0
        var fromBrowser = 0
    }

    /// Runs the session to its end (either side closing).
    /// - Throws: ``DesktopSocketController/Refusal`` 4502 when the VNC server cannot be reached
    ///   or refuses, 4400 when the browser does not speak RFB 3.8.
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws -> Counts {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                }
        } catch {
            throw DesktopSocketController.Refusal(code: 4502, reason: "The desktop's VNC server does not answer")
        }
        return try await channel.executeThenClose { vncInbound, vncOutbound in
            let server = ByteReader(vncInbound)
            let browser = ByteReader(inbound.messages(maxSize: 1 << 20).map { message -> ByteBuffer in
                guard case .binary(let buffer) = message else { throw DesktopSocketController.Refusal(code: 4400, reason: "RFB travels in binary frames") }
                return buffer
            })
            // A side that stalls mid-handshake is cut off: closing both ends the reads.
            let limit = handshakeTimeout
            let watchdog = Task {
                try await Task.sleep(for: limit)
                channel.channel.close(promise: nil)
                try? await outbound.close(.unknown(4408), reason: "The desktop handshake took longer than \(limit)")
            }
            defer { watchdog.cancel() }
            try await authenticate(server, vncOutbound)
            try await greet(browser, outbound)
            watchdog.cancel()
            return try await splice(server: server, browser: browser, vncOutbound: vncOutbound, outbound: outbound)
        }
    }

    /// The client side of the handshake with x11vnc.
    private func authenticate<S>(_ server: ByteReader<S>, _ vnc: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        func refuse(_ reason: String) -> DesktopSocketController.Refusal {
            DesktopSocketController.Refusal(code: 4502, reason: reason)
        }
        let version = try await server.read(12)
        guard version.starts(with: Array("RFB 003.".utf8)), let minor = Int(String(decoding: version[8..<11], as: UTF8.self)), minor >= 8
        else { throw refuse("The desktop's VNC server does not speak RFB 3.8") }
        try await vnc.write(ByteBuffer(bytes: Self.version))
        let count = Int(try await server.read(1)[0])
        guard count > 0 else {
            let reason = try await server.readString()
            throw refuse("The desktop's VNC server refused the connection: \(reason)")
        }
        let types = try await server.read(count)
        if types.contains(2) {
            try await vnc.write(ByteBuffer(bytes: [2]))
            let challenge = try await server.read(16)
            try await vnc.write(ByteBuffer(bytes: VNCAuthentication.response(challenge: challenge, password: password)))
        } else if types.contains(1) {
            try await vnc.write(ByteBuffer(bytes: [1]))
        } else {
            throw refuse("The desktop's VNC server offers no security type the proxy speaks (\(types))")
        }
        let result = try await server.read(4)
        guard result == [0, 0, 0, 0] else {
            let reason = (try? await server.readString()) ?? ""
            throw refuse("The desktop's VNC server refused the password\(reason.isEmpty ? "" : ": \(reason)")")
        }
    }

    /// The server side of the handshake with the browser: version 3.8, security None.
    private func greet<S>(_ browser: ByteReader<S>, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: Self.version)))
        let version = try await browser.read(12)
        guard version == Self.version else {
            throw DesktopSocketController.Refusal(code: 4400, reason: "The viewer must speak RFB 3.8")
        }
        try await outbound.write(.binary(ByteBuffer(bytes: [1, 1])))
        guard try await browser.read(1) == [1] else {
            throw DesktopSocketController.Refusal(code: 4400, reason: "The viewer must choose security type None")
        }
        try await outbound.write(.binary(ByteBuffer(bytes: [0, 0, 0, 0])))
    }

    /// Both directions until either ends; what either reader already holds goes first. The
    /// bytes are tallied as they pass (the side that did not end is cancelled mid-read).
    private func splice<A, B>(server: ByteReader<A>, browser: ByteReader<B>, vncOutbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                              outbound: WebSocketOutboundWriter) async throws -> Counts {
        let tally = Tally()
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while let buffer = try await server.next() {
                    tally.toBrowser.add(buffer.readableBytes, ordering: .relaxed)
                    try await outbound.write(.binary(buffer))
                }
            }
            group.addTask {
                while let buffer = try await browser.next() {
                    tally.fromBrowser.add(buffer.readableBytes, ordering: .relaxed)
                    try await vncOutbound.write(buffer)
                }
            }
            // Either side ending (or failing) ends the session.
            _ = try? await group.next()
            group.cancelAll()
        }
        return Counts(toBrowser: tally.toBrowser.load(ordering: .relaxed), fromBrowser: tally.fromBrowser.load(ordering: .relaxed))
    }

    private final class Tally: Sendable {
        let toBrowser = Atomic<Int>(0)
        let fromBrowser = Atomic<Int>(0)
    }
}

/// Exact-length reads over a stream of byte buffers.
///
/// `@unchecked Sendable`: a reader is used by one task at a time: the handshake's, then the
/// splice task that forwards its side (the handshake has ended before that task starts).
final class ByteReader<Source: AsyncSequence>: @unchecked Sendable where Source.Element == ByteBuffer {
    private var iterator: Source.AsyncIterator
    private var held = ByteBuffer()

    init(_ source: Source) { iterator = source.makeAsyncIterator() }

    /// The next `count` bytes.
    /// - Throws: ``DesktopSocketController/Refusal`` 4502 when the stream ends first.
    func read(_ count: Int) async throws -> [UInt8] {
        while held.readableBytes < count {
            guard var more = try await iterator.next() else {
                throw DesktopSocketController.Refusal(code: 4502, reason: "The connection ended during the desktop handshake")
            }
            held.writeBuffer(&more)
        }
        return held.readBytes(length: count) ?? []
    }

    /// An RFB string: a 32-bit big-endian length, then that many bytes (at most 4 KiB read).
    func readString() async throws -> String {
        let length = try await read(4).reduce(0) { $0 << 8 | Int($1) }
        return String(decoding: try await read(min(length, 4096)), as: UTF8.self)
    }

    /// The next buffer: what was read ahead of the last `read` first, then the stream's.
    func next() async throws -> ByteBuffer? {
        if held.readableBytes > 0 {
            defer { held.clear() }
            return held
        }
        return try await iterator.next()
    }
}
