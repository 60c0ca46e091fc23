import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to a mail server, under TLS from the first byte or after STARTTLS, read
/// as chunks of bytes with deadlines. The IMAP and SMTP clients parse on top of it.
///
/// Every failure leaves as a ``MailError`` classified once, here, where it enters
/// (`unreachable`, `tls_failed`, `timeout`); a cancelled read throws `CancellationError`.
final class MailConnection: Sendable {
    let server: MailServer
    /// "IMAP" or "SMTP", for messages.
    let protocolName: String
    private let channel: any Channel
    private let stream: NIOLoopBoundBox<ByteStreamHandler?>

    private init(server: MailServer, protocolName: String, channel: any Channel, stream: NIOLoopBoundBox<ByteStreamHandler?>) {
        self.server = server
        self.protocolName = protocolName
        self.channel = channel
        self.stream = stream
    }

    /// Opens the TCP connection (within `server.connectTimeout`), with TLS at once when
    /// `server.security` is `.tls`. The handshake itself completes with the first read.
    static func open(_ server: MailServer, protocolName: String, group: any EventLoopGroup) async throws -> MailConnection {
        let eventLoop = group.next()
        let stream = NIOLoopBoundBox.makeEmptyBox(valueType: ByteStreamHandler.self, eventLoop: eventLoop)
        let tls = server.security == .tls ? try makeTLSContext(for: server, protocolName: protocolName) : nil
        let host = server.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(server.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(MailConnection.makeTLSHandler(tls, host: host))
                    }
                    let handler = ByteStreamHandler()
                    try channel.pipeline.syncOperations.addHandler(handler)
                    stream.value = handler
                }
            }
        do {
            let channel = try await bootstrap.connect(host: server.host, port: server.port).get()
            return MailConnection(server: server, protocolName: protocolName, channel: channel, stream: stream)
        } catch {
            throw MailError.classify(error, server: server, protocolName: protocolName, while: "connecting")
        }
    }

    /// The next bytes the server sends, waiting at most `timeout` for them. `what` names what
    /// we wait for in the time-out's message ("the greeting", "the answer to SELECT").
    /// With `cancellable: false` a cancelled task still waits (to finish an exchange cleanly).
    func read(within timeout: Duration, waitingFor what: String, cancellable: Bool = true) async throws -> ByteBuffer {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let stream = self.stream
        stream.eventLoop.execute { stream.value?.wait(for: promise, deadline: deadline) }
        do {
            if cancellable {
                return try await withTaskCancellationHandler {
                    try await promise.futureResult.get()
                } onCancel: {
                    stream.eventLoop.execute { stream.value?.cancel(promise) }
                }
            }
            return try await promise.futureResult.get()
        } catch is ByteStreamHandler.DeadlineExceeded {
            throw MailError(.timeout, "the \(protocolName) server \(server.endpoint) sent nothing for \(Self.seconds(timeout)) while we waited for \(what)")
        } catch {
            throw MailError.classify(error, server: server, protocolName: protocolName, while: "waiting for \(what)")
        }
    }

    /// Sends `bytes`, failing with `timeout` if they cannot all be handed to the kernel within
    /// `timeout` (a server that stopped reading).
    func write(_ bytes: ByteBuffer, within timeout: Duration) async throws {
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(bytes).cascade(to: done)
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            done.fail(ByteStreamHandler.DeadlineExceeded())
        }
        defer { timer.cancel() }
        do {
            try await done.futureResult.get()
        } catch is ByteStreamHandler.DeadlineExceeded {
            channel.close(promise: nil)
            throw MailError(.timeout, "the \(protocolName) server \(server.endpoint) did not take our data for \(Self.seconds(timeout))")
        } catch {
            // A write on a connection that a TLS failure closed: the failure is the news.
            let stream = self.stream
            let cause = try? await stream.eventLoop.submit { stream.value?.terminalError }.get()
            throw MailError.classify(cause ?? error, server: server, protocolName: protocolName, while: "sending")
        }
    }

    /// Puts TLS under the conversation (after the server's go-ahead to STARTTLS). Refuses when
    /// the server already sent bytes past its go-ahead: they were not protected and could be
    /// an injected answer.
    func startTLS() async throws {
        let context = try Self.makeTLSContext(for: server, protocolName: protocolName)
        let host = server.host
        let stream = self.stream
        let channel = self.channel
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        let clean = try await channel.eventLoop.submit {
            guard let handler = stream.value, !handler.hasPendingBytes else { return false }
            handler.waitForHandshake(handshake)
            try channel.pipeline.syncOperations.addHandler(Self.makeTLSHandler(context, host: host), position: .first)
            return true
        }.get()
        guard clean else {
            handshake.fail(ByteStreamHandler.PeerClosed())
            throw MailError(.protocolError, "the \(protocolName) server \(server.endpoint) sent data before the TLS handshake (refused: it could be injected)")
        }
        // The handshake is awaited here, so its failure is reported as such (not as the closed
        // connection the next command would meet).
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(server.commandTimeout)) {
            handshake.fail(ByteStreamHandler.DeadlineExceeded())
        }
        defer { timer.cancel() }
        do {
            try await handshake.futureResult.get()
        } catch is ByteStreamHandler.DeadlineExceeded {
            channel.close(promise: nil)
            throw MailError(.timeout, "the TLS handshake with the \(protocolName) server \(server.endpoint) did not finish within \(Self.seconds(server.commandTimeout))")
        } catch {
            throw MailError.classify(error, server: server, protocolName: protocolName, while: "starting TLS")
        }
    }

    /// Closes the connection (TLS is shut down with a short wait for the server's answer).
    func close() async {
        try? await channel.close().get()
    }

    // MARK: - TLS

    private static func makeTLSContext(for server: MailServer, protocolName: String) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.shutdownTimeout = .seconds(1)
        if let pem = server.trustedCAPEM, !pem.isEmpty {
            let certificates = (try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))) ?? []
            guard !certificates.isEmpty else {
                throw MailError(.tlsFailed, "the CA certificate to trust for \(server.endpoint) is not a PEM certificate")
            }
            configuration.additionalTrustRoots = [.certificates(certificates)]
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw MailError(.tlsFailed, "TLS for \(server.endpoint) could not be set up", underlying: error)
        }
    }

    /// SNI and the name check use `host`; an IP address is sent no SNI and is checked against
    /// the certificate's IP SANs (NIOSSL matches the connected peer address).
    private static func makeTLSHandler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: isIPAddress(host) ? nil : host)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    static func seconds(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(Double(ms) / 1000) s"
    }
}
