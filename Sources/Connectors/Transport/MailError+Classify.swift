#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import NIOSSL

extension MailError {
    /// Turns a foreign error from the network stack into the `MailError` a person can act on:
    /// refused, unroutable or unresolvable → `unreachable`; connect deadline → `timeout`;
    /// anything from the TLS layer → `tls_failed`. A `MailError` passes through;
    /// `CancellationError` is returned as it is (the caller rethrows it).
    static func classify(_ error: any Error, server: MailServer, protocolName: String, while doing: String) -> any Error {
        let name = "the \(protocolName) server \(server.endpoint)"
        switch error {
        case let error as MailError:
            return error
        case is CancellationError:
            return error
        case ChannelError.connectTimeout:
            return MailError(.timeout, "could not connect to \(name) within \(MailConnection.seconds(server.connectTimeout))", underlying: error)
        case let failure as NIOConnectionError:
            if let attempt = failure.connectionErrors.first {
                return classify(attempt.error, server: server, protocolName: protocolName, while: doing)
            }
            if failure.dnsAError != nil || failure.dnsAAAAError != nil {
                return MailError(.unreachable, "the host name \(server.host) could not be resolved", underlying: error)
            }
            return MailError(.unreachable, "could not connect to \(name)", underlying: error)
        case is SocketAddressError:
            return MailError(.unreachable, "the host name \(server.host) could not be resolved", underlying: error)
        case let failure as IOError:
            return classify(errno: failure.errnoCode, name: name, server: server, underlying: error)
        case is ByteStreamHandler.PeerClosed, ChannelError.eof, ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed,
             ChannelError.outputClosed:
            return MailError(.unreachable, "\(name) closed the connection while we were \(doing)", underlying: error)
        case let failure as NIOSSLError:
            if failure == .uncleanShutdown {
                return MailError(.unreachable, "\(name) closed the connection without ending TLS while we were \(doing)", underlying: error)
            }
            return MailError(.tlsFailed, "TLS with \(name) failed: \(tlsReason(error, host: server.host))", underlying: error)
        case is NIOSSLExtraError, is BoringSSLError, is NIOSSLCloseTimedOutError:
            return MailError(.tlsFailed, "TLS with \(name) failed: \(tlsReason(error, host: server.host))", underlying: error)
        default:
            return MailError(.unreachable, "the connection to \(name) failed while we were \(doing)", underlying: error)
        }
    }

    private static func classify(errno code: CInt, name: String, server: MailServer, underlying: any Error) -> MailError {
        switch code {
        case ECONNREFUSED:
            return MailError(.unreachable, "\(name) refused the connection (nothing listens on port \(server.port))", underlying: underlying)
        case EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, EHOSTDOWN, ENETDOWN:
            return MailError(.unreachable, "there is no route to \(name)", underlying: underlying)
        case ETIMEDOUT:
            return MailError(.timeout, "the connection to \(name) timed out", underlying: underlying)
        case ECONNRESET, EPIPE, ECONNABORTED:
            return MailError(.unreachable, "\(name) reset the connection", underlying: underlying)
        default:
            return MailError(.unreachable, "the connection to \(name) failed (\(String(cString: strerror(code))))", underlying: underlying)
        }
    }

    /// A short reason a person understands, from BoringSSL's error stack.
    private static func tlsReason(_ error: any Error, host: String) -> String {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server's certificate is not valid for \(host)"
        }
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not trusted (unknown issuer, expired or not yet valid); give the CA certificate to trust"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("HTTP_REQUEST") {
            return "the server does not speak TLS on this port (try STARTTLS or the TLS port)"
        }
        if text.contains("eofDuringHandshake") || text.contains("EOF during handshake") {
            return "the server closed the connection during the handshake (does this port speak TLS?)"
        }
        if text.contains("NO_SHARED_CIPHER") || text.contains("UNSUPPORTED_PROTOCOL") || text.contains("HANDSHAKE_FAILURE") {
            return "no TLS version or cipher in common with the server"
        }
        return "the handshake failed (\(text))"
    }
}
