import Logging
import NIOCore
import NIOPosix

/// An ESMTP client over one connection: TLS or STARTTLS, EHLO, AUTH PLAIN (or LOGIN when
/// only that is offered), and MAIL FROM / RCPT TO / DATA with per-recipient results.
///
/// One command runs at a time. Open one with ``withConnection(to:heloName:group:logger:_:)``,
/// which always closes it, or ``connect(to:heloName:group:logger:)`` followed by ``quit()``.
/// Protocol lines are logged at debug level; AUTH lines as `<credentials>`, never the message.
package actor SMTPClient {
    package let server: MailServer
    /// The 220 greeting's text.
    package private(set) var greeting = ""
    /// EHLO's extensions, keywords upper-cased, with their parameters (`AUTH` → `PLAIN LOGIN`,
    /// `SIZE` → `52428800`).
    package private(set) var extensions: [String: String] = [:]

    private let connection: MailConnection
    private let logger: Logger
    private let heloName: String
    private var buffer = ByteBuffer()
    private var busy = false

    private init(connection: MailConnection, heloName: String, logger: Logger) {
        self.connection = connection
        self.server = connection.server
        self.heloName = heloName
        var logger = logger
        logger[metadataKey: "smtp"] = "\(connection.server.endpoint)"
        self.logger = logger
    }

    /// Connects, reads the greeting, says EHLO and upgrades with STARTTLS when
    /// `server.security` says so. Not logged in yet: call ``login()``.
    /// - Parameter heloName: the name this client gives in EHLO (a host name or `[IP]`).
    /// - Throws: `MailError` (`unreachable`, `timeout`, `tls_failed`, `protocol_error`, `server_error`).
    package static func connect(to server: MailServer, heloName: String = "localhost",
                                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                                logger: Logger = Logger(label: "persona.connectors.smtp")) async throws -> SMTPClient {
        let connection = try await MailConnection.open(server, protocolName: "SMTP", group: group)
        let client = SMTPClient(connection: connection, heloName: heloName, logger: logger)
        do {
            try await client.start()
            return client
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Connects (see ``connect(to:heloName:group:logger:)``), runs `body`, then QUITs and
    /// closes, whether `body` returns or throws.
    package static func withConnection<Result: Sendable>(
        to server: MailServer, heloName: String = "localhost", group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "persona.connectors.smtp"), _ body: (SMTPClient) async throws -> Result
    ) async throws -> Result {
        let client = try await connect(to: server, heloName: heloName, group: group, logger: logger)
        do {
            let result = try await body(client)
            await client.quit()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Authenticates with AUTH PLAIN, or AUTH LOGIN when only that is offered. Does nothing
    /// when `server.username` is empty (a relay that needs no login).
    /// - Throws: `auth_failed` when the server refuses the credentials (535) or offers no AUTH
    ///   on this connection; `server_error` for a temporary failure (454).
    package func login() async throws {
        try await login(preferring: "PLAIN")
    }

    /// ``login()`` with a preferred mechanism (tests use it to exercise AUTH LOGIN).
    func login(preferring preferred: String) async throws {
        guard !server.username.isEmpty else { return }
        let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        let reply: SMTPReply
        if mechanisms.contains("PLAIN") && (preferred == "PLAIN" || !mechanisms.contains(preferred)) {
            let token = Base64.encode(Array("\0\(server.username)\0\(server.password)".utf8))
            reply = try await command("AUTH PLAIN \(token)", logged: "AUTH PLAIN <credentials>")
        } else if mechanisms.contains("LOGIN") {
            var step = try await command("AUTH LOGIN", logged: "AUTH LOGIN")
            if step.code == 334 { step = try await command(Base64.encode(Array(server.username.utf8)), logged: "<credentials>") }
            if step.code == 334 { step = try await command(Base64.encode(Array(server.password.utf8)), logged: "<credentials>") }
            reply = step
        } else if !mechanisms.isEmpty {
            throw MailError(.authFailed, "the SMTP server \(server.endpoint) offers only \(mechanisms.sorted().joined(separator: ", ")) to log in, not PLAIN or LOGIN")
        } else {
            throw MailError(.authFailed, "the SMTP server \(server.endpoint) offers no login on this connection\(server.security == .none ? " (it may require STARTTLS)" : "")")
        }
        switch reply.code {
        case 235, 250:
            return
        case 454, 421, 451, 452:
            throw MailError(.serverError, "the SMTP server \(server.endpoint) cannot log in now: \(reply.code) \(reply.text)")
        default:
            throw MailError(.authFailed, "the SMTP server \(server.endpoint) refused the user name or password for \(server.username): \(reply.code) \(reply.text)")
        }
    }

    /// Sends one message: MAIL FROM, RCPT TO for each recipient, DATA with the bytes
    /// dot-stuffed and line ends made CRLF. Recipients the server refuses are reported in the
    /// result; the message goes to the others.
    /// - Parameters:
    ///   - from: the envelope sender (`""` for the null sender `<>`).
    ///   - recipients: envelope recipients (To, Cc and Bcc together).
    ///   - data: the whole RFC 5322 message, headers included.
    /// - Throws: `server_error` when the sender, every recipient or the message is refused;
    ///   `protocol_error` for an address with line breaks or angle brackets.
    @discardableResult
    package func send(from: String, recipients: [String], data: [UInt8]) async throws -> SMTPSendResult {
        try Self.checkAddress(from, allowEmpty: true)
        guard !recipients.isEmpty else { throw MailError(.protocolError, "a message needs at least one recipient") }
        try recipients.forEach { try Self.checkAddress($0, allowEmpty: false) }

        var parameters = ""
        if extensions["8BITMIME"] != nil, data.contains(where: { $0 >= 0x80 }) { parameters += " BODY=8BITMIME" }
        if extensions["SIZE"] != nil { parameters += " SIZE=\(data.count)" }
        if extensions["SMTPUTF8"] != nil, !(from + recipients.joined()).utf8.allSatisfy({ $0 < 0x80 }) { parameters += " SMTPUTF8" }
        let mail = try await command("MAIL FROM:<\(from)>\(parameters)")
        guard mail.code == 250 else {
            throw MailError(.serverError, "the SMTP server \(server.endpoint) refused the sender \(from): \(mail.code) \(mail.text)")
        }
        var accepted: [String] = []
        var rejected: [SMTPSendResult.Rejection] = []
        for recipient in recipients {
            let reply = try await command("RCPT TO:<\(recipient)>")
            if reply.code == 250 || reply.code == 251 {
                accepted.append(recipient)
            } else {
                rejected.append(.init(address: recipient, code: reply.code, message: reply.text))
            }
        }
        guard !accepted.isEmpty else {
            _ = try? await command("RSET")
            let reasons = rejected.map { "\($0.address): \($0.code) \($0.message)" }.joined(separator: "; ")
            throw MailError(.serverError, "the SMTP server \(server.endpoint) refused every recipient (\(reasons))")
        }
        let go = try await command("DATA")
        guard go.code == 354 else {
            throw MailError(.serverError, "the SMTP server \(server.endpoint) refused DATA: \(go.code) \(go.text)")
        }
        let done = try await command(bytes: Self.dotStuffed(data), logged: "<message, \(data.count) bytes>")
        guard done.code == 250 else {
            throw MailError(.serverError, "the SMTP server \(server.endpoint) refused the message: \(done.code) \(done.text)")
        }
        return SMTPSendResult(accepted: accepted, rejected: rejected, reply: done.text)
    }

    /// QUIT, then close. Errors are ignored: the connection is closed in any case.
    package func quit() async {
        _ = try? await command("QUIT")
        await close()
    }

    /// Closes the connection without QUIT.
    package func close() async {
        await connection.close()
    }

    // MARK: - Conversation

    private func start() async throws {
        let first: SMTPReply
        do {
            first = try await readReply(within: server.connectTimeout, waitingFor: "the greeting")
        } catch let error as MailError where error.code == .protocolError {
            throw MailError(.protocolError, "the server at \(server.endpoint) did not greet as an SMTP server", underlying: error)
        }
        guard first.code == 220 else {
            throw MailError(.serverError, "the SMTP server \(server.endpoint) refused the connection: \(first.code) \(first.text)")
        }
        greeting = first.text
        try await hello()
        guard server.security == .starttls else { return }
        guard extensions["STARTTLS"] != nil else {
            throw MailError(.tlsFailed, "the SMTP server \(server.endpoint) does not offer STARTTLS: use TLS (port 465) or no encryption")
        }
        let reply = try await command("STARTTLS")
        guard reply.code == 220 else {
            throw MailError(.tlsFailed, "the SMTP server \(server.endpoint) refused STARTTLS: \(reply.code) \(reply.text)")
        }
        guard buffer.readableBytes == 0 else {
            throw MailError(.protocolError, "the SMTP server \(server.endpoint) sent data after accepting STARTTLS (refused: it could be injected)")
        }
        try await connection.startTLS()
        try await hello()
    }

    /// EHLO (HELO when the server does not know it), reading the extensions.
    private func hello() async throws {
        let reply = try await command("EHLO \(heloName)")
        if reply.code == 250 {
            extensions = [:]
            for line in reply.lines.dropFirst() {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard let keyword = parts.first else { continue }
                extensions[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
            }
            return
        }
        let helo = try await command("HELO \(heloName)")
        guard helo.code == 250 else {
            throw MailError(.serverError, "the SMTP server \(server.endpoint) refused EHLO and HELO: \(helo.code) \(helo.text)")
        }
        extensions = [:]
    }

    private func command(_ line: String, logged: String? = nil) async throws -> SMTPReply {
        try await command(bytes: Array((line + "\r\n").utf8), logged: logged ?? line)
    }

    private func command(bytes: [UInt8], logged: String) async throws -> SMTPReply {
        guard !busy else {
            throw MailError(.protocolError, "an SMTPClient runs one command at a time, and one is in progress")
        }
        busy = true
        defer { busy = false }
        logger.debug("C: \(logged)")
        try await connection.write(ByteBuffer(bytes: bytes), within: server.commandTimeout)
        let name = logged.hasPrefix("<") ? "the message" : String(logged.prefix { $0 != " " && $0 != ":" })
        return try await readReply(within: server.commandTimeout, waitingFor: "the answer to \(name)")
    }

    private func readReply(within timeout: Duration, waitingFor what: String) async throws -> SMTPReply {
        while true {
            if buffer.readableBytes > 0, let (reply, consumed) = try buffer.withUnsafeReadableBytes({ try SMTPReply.parse($0) }) {
                buffer.moveReaderIndex(forwardBy: consumed)
                if buffer.readableBytes == 0 { buffer.clear() }
                logger.debug("S: \(reply.code) \(reply.lines.first ?? "")\(reply.lines.count > 1 ? " (+\(reply.lines.count - 1) lines)" : "")")
                return reply
            }
            guard buffer.readableBytes < 1 << 20 else {
                throw MailError(.protocolError, "the SMTP server \(server.endpoint) sent a reply longer than 1 MiB")
            }
            var chunk = try await connection.read(within: timeout, waitingFor: what)
            buffer.writeBuffer(&chunk)
        }
    }

    // MARK: - Message bytes

    /// CR, LF or angle brackets in an address would let it smuggle SMTP commands.
    static func checkAddress(_ address: String, allowEmpty: Bool) throws {
        guard allowEmpty || !address.isEmpty else { throw MailError(.protocolError, "an empty recipient address") }
        guard !address.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "<" || $0 == ">" || $0 == " " || $0.value == 0x7F }) else {
            throw MailError(.protocolError, "\"\(address)\" is not a valid envelope address")
        }
    }

    /// The message for DATA: every line end CRLF, a `.` doubled at a line's start, ending
    /// with the `CRLF.CRLF` terminator.
    static func dotStuffed(_ data: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(data.count + data.count / 40 + 5)
        var atLineStart = true
        var index = 0
        while index < data.count {
            let byte = data[index]
            if atLineStart, byte == UInt8(ascii: ".") { output.append(byte) }
            atLineStart = false
            if byte == 0x0A {
                if output.last != 0x0D { output.append(0x0D) }
                output.append(0x0A)
                atLineStart = true
            } else if byte == 0x0D {
                output.append(0x0D)
                if index + 1 >= data.count || data[index + 1] != 0x0A {
                    output.append(0x0A)
                    atLineStart = true
                }
            } else {
                output.append(byte)
            }
            index += 1
        }
        if !output.isEmpty, !(output.count >= 2 && output[output.count - 2] == 0x0D && output[output.count - 1] == 0x0A) {
            output += [0x0D, 0x0A]
        }
        output += Array(".\r\n".utf8)
        return output
    }
}
