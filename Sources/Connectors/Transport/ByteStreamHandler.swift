import NIOCore
import NIOTLS

/// The last handler of a mail connection's pipeline: keeps the bytes the server sent until
/// the client asks for them, one waiting read at a time, with a deadline.
///
/// Everything runs on the channel's event loop, so the state needs no lock: a read asks with
/// `wait(for:deadline:)` (through `eventLoop.execute`) and is answered with every byte that
/// arrived since the last read, or the connection's end (error first, then closed), or the
/// deadline. Bytes that arrive with nobody waiting stay in `pending`; nothing is ever lost
/// between reads, and a cancelled read gives its bytes to the next one.
final class ByteStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// The peer closed the connection (after any bytes it sent before).
    struct PeerClosed: Error {}
    /// A read's deadline passed with no byte.
    struct DeadlineExceeded: Error {}

    private var pending: ByteBuffer?
    private var terminal: (any Error)?
    private var waiter: EventLoopPromise<ByteBuffer>?
    private var timer: Scheduled<Void>?
    private var eventLoop: (any EventLoop)?
    private var handshake: EventLoopPromise<Void>?

    /// Whether bytes came that no read has taken yet (STARTTLS must start on a clean stream).
    var hasPendingBytes: Bool { (pending?.readableBytes ?? 0) > 0 }

    /// Why the connection ended, if it did (the TLS failure behind a failed write).
    var terminalError: (any Error)? { terminal }

    /// Completes `promise` when a TLS handler in front of this one finishes its handshake,
    /// or fails it with the reason the connection ends.
    func waitForHandshake(_ promise: EventLoopPromise<Void>) {
        if let terminal {
            promise.fail(terminal)
        } else {
            handshake = promise
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            handshake?.succeed()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        eventLoop = context.eventLoop
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil {
            pending = bytes
        } else {
            pending!.writeBuffer(&bytes)
        }
        deliver()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if terminal == nil { terminal = PeerClosed() }
        deliver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The first error says why (a TLS handshake failure is followed by the close it causes).
        if terminal == nil { terminal = error }
        deliver()
        context.close(promise: nil)
    }

    /// Answers `promise` with the next bytes, the connection's end, or `DeadlineExceeded`.
    func wait(for promise: EventLoopPromise<ByteBuffer>, deadline: NIODeadline) {
        guard waiter == nil, let eventLoop else {
            promise.fail(MailError(.protocolError, "a second read was started while one is waiting"))
            return
        }
        waiter = promise
        deliver()
        guard waiter != nil else { return }
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            guard let waiter, waiter == promise else { return }
            self.waiter = nil
            self.timer = nil
            waiter.fail(DeadlineExceeded())
        }
    }

    /// Fails `promise` with `CancellationError` if it still waits (its task was cancelled).
    func cancel(_ promise: EventLoopPromise<ByteBuffer>) {
        guard let waiter, waiter == promise else { return }
        self.waiter = nil
        timer?.cancel()
        timer = nil
        waiter.fail(CancellationError())
    }

    private func deliver() {
        if let terminal, let handshake {
            self.handshake = nil
            handshake.fail(terminal)
        }
        guard let waiter else { return }
        if let bytes = pending, bytes.readableBytes > 0 {
            pending = nil
            finish(waiter, with: .success(bytes))
        } else if let terminal {
            finish(waiter, with: .failure(terminal))
        }
    }

    private func finish(_ waiter: EventLoopPromise<ByteBuffer>, with result: Result<ByteBuffer, any Error>) {
        self.waiter = nil
        timer?.cancel()
        timer = nil
        waiter.completeWith(result)
    }
}
