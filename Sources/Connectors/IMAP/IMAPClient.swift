import Logging
import NIOCore
import NIOPosix

/// An IMAP4rev1 client over one connection: TLS or STARTTLS, login, SELECT, UID SEARCH /
/// FETCH / STORE / MOVE, APPEND, IDLE.
///
/// One command runs at a time (a second concurrent call fails with `protocol_error` instead
/// of interleaving on the wire). Open one with ``withConnection(to:group:logger:_:)``, which
/// always closes it, or ``connect(to:group:logger:)`` followed by ``close()``.
///
/// Protocol lines are logged at debug level; the line that carries credentials is logged as
/// `LOGIN <credentials>` and message contents never are.
package actor IMAPClient {
    package let server: MailServer
    /// The greeting's text (`Dovecot ready.`).
    package private(set) var greeting = ""
    /// The server's capabilities, upper-cased (`IDLE`, `MOVE`, `UIDPLUS`, `AUTH=PLAIN`); they
    /// are read again after STARTTLS and after logging in.
    package private(set) var capabilities: Set<String> = []
    /// The folder SELECT or EXAMINE opened last.
    package internal(set) var selectedFolder: String?

    let connection: MailConnection
    let logger: Logger
    private var buffer = ByteBuffer()
    private var needed = 0
    var nextTag = 1
    /// A command (or IDLE) is on the wire.
    var busy = false
    private var bye: IMAPStatus?
    private var preauthenticated = false

    private init(connection: MailConnection, logger: Logger) {
        self.connection = connection
        self.server = connection.server
        var logger = logger
        logger[metadataKey: "imap"] = "\(connection.server.endpoint)"
        self.logger = logger
    }

    /// Connects, reads the greeting, upgrades with STARTTLS when `server.security` says so, and
    /// reads the capabilities. Not logged in yet: call ``login()``.
    /// - Throws: `MailError` (`unreachable`, `timeout`, `tls_failed`, `protocol_error`).
    package static func connect(to server: MailServer, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                                logger: Logger = Logger(label: "persona.connectors.imap")) async throws -> IMAPClient {
        let connection = try await MailConnection.open(server, protocolName: "IMAP", group: group)
        let client = IMAPClient(connection: connection, logger: logger)
        do {
            try await client.start()
            return client
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Connects (see ``connect(to:group:logger:)``), runs `body`, then logs out (when `body`
    /// returned) or just closes (when it threw). `body` logs in itself (``login()``).
    package static func withConnection<Result: Sendable>(
        to server: MailServer, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "persona.connectors.imap"), _ body: (IMAPClient) async throws -> Result
    ) async throws -> Result {
        let client = try await connect(to: server, group: group, logger: logger)
        do {
            let result = try await body(client)
            await client.logout()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Logs in with AUTHENTICATE PLAIN when offered (SASL-IR saves a round trip), else LOGIN.
    /// - Throws: `auth_failed` when the server refuses the user name or password (or refuses
    ///   to log in without TLS), `server_error` when it is temporarily unavailable.
    package func login() async throws {
        guard !preauthenticated else { return }
        let result: CommandResult
        if capabilities.contains("AUTH=PLAIN") {
            let token = Base64.encode(Array("\0\(server.username)\0\(server.password)".utf8))
            if capabilities.contains("SASL-IR") {
                result = try await execute([.text("AUTHENTICATE PLAIN \(token)")], logged: "AUTHENTICATE PLAIN <credentials>")
            } else {
                result = try await execute([.text("AUTHENTICATE PLAIN"), .afterContinuation(token)], logged: "AUTHENTICATE PLAIN <credentials>")
            }
        } else if capabilities.contains("LOGINDISABLED") {
            throw MailError(.authFailed, "the IMAP server \(server.endpoint) refuses to log in without TLS (LOGINDISABLED): use TLS or STARTTLS")
        } else {
            result = try await execute([.text("LOGIN ")] + Self.astring(server.username) + [.text(" ")] + Self.astring(server.password),
                                       logged: "LOGIN <credentials>")
        }
        switch result.status.kind {
        case .ok:
            if result.status.code == "CAPABILITY" {
                capabilities = Self.capabilitySet(result.status.codeArguments)
            } else if let listed = result.capabilities {
                capabilities = listed
            } else {
                try await refreshCapabilities()
            }
        case .no where ["UNAVAILABLE", "SERVERBUG", "LIMIT", "INUSE"].contains(result.status.code ?? ""):
            throw MailError(.serverError, "the IMAP server \(server.endpoint) cannot log in now: \(result.status.serverText)")
        default:
            throw MailError(.authFailed, "the IMAP server \(server.endpoint) refused the user name or password for \(server.username): \(result.status.serverText)")
        }
    }

    /// Ends the session (LOGOUT) and closes the connection. Errors are ignored: the
    /// connection is closed in any case.
    package func logout() async {
        _ = try? await execute([.text("LOGOUT")], logged: "LOGOUT")
        await close()
    }

    /// Closes the connection without LOGOUT.
    package func close() async {
        await connection.close()
    }

    /// NOOP: lets the server report what changed in the selected folder (polling).
    package func noop() async throws -> MailboxChanges {
        let result = try await execute([.text("NOOP")], logged: "NOOP")
        try require(result, "NOOP")
        var changes = MailboxChanges()
        result.untagged.forEach { changes.note($0) }
        return changes
    }

    // MARK: - Start

    private func start() async throws {
        let first: IMAPResponse
        do {
            first = try await nextResponse(within: server.connectTimeout, waitingFor: "the greeting")
        } catch let error as MailError where error.code == .protocolError {
            throw MailError(.protocolError, "the server at \(server.endpoint) did not greet as an IMAP server", underlying: error)
        }
        guard case .status(let status) = first else {
            throw MailError(.protocolError, "the server at \(server.endpoint) did not greet as an IMAP server")
        }
        switch status.kind {
        case .ok, .preauth:
            greeting = status.text
            preauthenticated = status.kind == .preauth
            if status.code == "CAPABILITY" { capabilities = Self.capabilitySet(status.codeArguments) }
        case .bye:
            throw MailError(.serverError, "the IMAP server \(server.endpoint) refused the connection: \(status.text)")
        case .no, .bad:
            throw MailError(.protocolError, "the server at \(server.endpoint) did not greet as an IMAP server")
        }
        if server.security == .starttls {
            if capabilities.isEmpty { try await refreshCapabilities() }
            guard capabilities.contains("STARTTLS") else {
                throw MailError(.tlsFailed, "the IMAP server \(server.endpoint) does not offer STARTTLS: use TLS (port 993) or no encryption")
            }
            let result = try await execute([.text("STARTTLS")], logged: "STARTTLS")
            guard result.status.kind == .ok else {
                throw MailError(.tlsFailed, "the IMAP server \(server.endpoint) refused STARTTLS: \(result.status.serverText)")
            }
            guard buffer.readableBytes == 0 else {
                throw MailError(.protocolError, "the IMAP server \(server.endpoint) sent data after accepting STARTTLS (refused: it could be injected)")
            }
            try await connection.startTLS()
            capabilities = []
            try await refreshCapabilities()
        } else if capabilities.isEmpty {
            try await refreshCapabilities()
        }
    }

    func refreshCapabilities() async throws {
        let result = try await execute([.text("CAPABILITY")], logged: "CAPABILITY")
        try require(result, "CAPABILITY")
        capabilities = result.capabilities ?? []
    }

    static func capabilitySet(_ text: String) -> Set<String> {
        Set(text.split(separator: " ").map { $0.uppercased() })
    }
}

// MARK: - Commands

extension IMAPClient {
    /// A piece of a command line.
    enum CommandPart: Sendable {
        case text(String)
        /// Bytes sent as a literal: `{n+}` when the server takes non-synchronizing literals
        /// (LITERAL+, or LITERAL- up to 4 KiB), else `{n}` and a wait for its go-ahead.
        case literal([UInt8])
        /// Ends the line, waits for the server's `+`, then sends this on a line of its own.
        case afterContinuation(String)
    }

    /// A command's tagged status and the untagged responses that came before it.
    struct CommandResult: Sendable {
        var status: IMAPStatus
        var untagged: [IMAPResponse]

        /// The capabilities of an untagged CAPABILITY response, if one came.
        var capabilities: Set<String>? {
            for case .data("CAPABILITY", let values) in untagged {
                return Set(values.compactMap { $0.text?.uppercased() })
            }
            return nil
        }
    }

    /// Marks a command in progress and returns its tag (`A1`, `A2`, ...).
    func beginCommand() throws -> String {
        guard !busy else {
            throw MailError(.protocolError, "an IMAPClient runs one command at a time, and one is in progress")
        }
        busy = true
        defer { nextTag += 1 }
        return "A\(nextTag)"
    }

    /// Sends one command and reads until its tagged answer. `logged` is what the debug log
    /// shows in place of the line (no credentials, no literal contents).
    func execute(_ parts: [CommandPart], logged: String, timeout: Duration? = nil) async throws -> CommandResult {
        let tag = try beginCommand()
        defer { busy = false }
        let timeout = timeout ?? server.commandTimeout
        let name = String(logged.prefix { $0 != " " })
        let what = "the answer to \(name)"
        logger.debug("C: \(tag) \(logged)")
        var untagged: [IMAPResponse] = []
        var line = ByteBuffer(string: "\(tag) ")

        for part in parts {
            switch part {
            case .text(let text):
                line.writeString(text)
            case .literal(let bytes):
                let nonSynchronizing = capabilities.contains("LITERAL+") || (capabilities.contains("LITERAL-") && bytes.count <= 4096)
                line.writeString("{\(bytes.count)\(nonSynchronizing ? "+" : "")}\r\n")
                if !nonSynchronizing, let refused = try await awaitContinuation(tag: tag, name: name, line: &line, untagged: &untagged, timeout: timeout) {
                    return CommandResult(status: refused, untagged: untagged)
                }
                line.writeBytes(bytes)
            case .afterContinuation(let text):
                line.writeString("\r\n")
                if let refused = try await awaitContinuation(tag: tag, name: name, line: &line, untagged: &untagged, timeout: timeout) {
                    return CommandResult(status: refused, untagged: untagged)
                }
                line.writeString(text)
            }
        }
        line.writeString("\r\n")
        try await connection.write(line, within: timeout)
        while true {
            let response = try await nextResponse(within: timeout, waitingFor: what)
            switch response {
            case .tagged(tag, let status):
                return CommandResult(status: status, untagged: untagged)
            case .tagged(let other, _):
                logger.debug("ignoring the answer to an unknown tag \(other)")
            case .continuation:
                throw MailError(.protocolError, "the IMAP server \(server.endpoint) asked for more input to \(name)")
            default:
                untagged.append(response)
            }
        }
    }

    /// Sends the line so far and waits for the server's `+`; returns the tagged status instead
    /// when the server refuses the command before it is complete.
    private func awaitContinuation(tag: String, name: String, line: inout ByteBuffer, untagged: inout [IMAPResponse],
                                   timeout: Duration) async throws -> IMAPStatus? {
        try await connection.write(line, within: timeout)
        line.clear()
        while true {
            switch try await nextResponse(within: timeout, waitingFor: "the go-ahead to \(name)") {
            case .continuation: return nil
            case .tagged(tag, let status): return status
            case let response: untagged.append(response)
            }
        }
    }

    /// The next whole response, reading as needed. `timeout` is the longest wait for bytes.
    func nextResponse(within timeout: Duration, waitingFor what: String, cancellable: Bool = true) async throws -> IMAPResponse {
        while true {
            if buffer.readableBytes > 0, buffer.readableBytes >= needed {
                let outcome = try buffer.withUnsafeReadableBytes { try IMAPResponseParser.parse($0) }
                switch outcome {
                case .response(let response, let consumed):
                    logResponse(length: consumed)
                    buffer.moveReaderIndex(forwardBy: consumed)
                    needed = 0
                    if buffer.readableBytes == 0 {
                        buffer.clear()
                    } else if buffer.readerIndex > 1 << 20 {
                        buffer.discardReadBytes()
                    }
                    if case .status(let status) = response, status.kind == .bye { bye = status }
                    return response
                case .incomplete(let atLeast):
                    needed = atLeast
                }
            }
            do {
                var chunk = try await connection.read(within: timeout, waitingFor: what, cancellable: cancellable)
                buffer.writeBuffer(&chunk)
            } catch let error as MailError where error.code == .unreachable && bye != nil {
                throw MailError(.serverError, "the IMAP server \(server.endpoint) ended the session: \(bye?.text ?? "")", underlying: error)
            }
        }
    }

    /// Throws `server_error` unless the command succeeded.
    func require(_ result: CommandResult, _ what: String) throws {
        guard result.status.kind != .ok else { return }
        throw failure(result, what)
    }

    /// The `server_error` for a refused command, quoting the server.
    func failure(_ result: CommandResult, _ what: String) -> MailError {
        let verb = result.status.kind == .bad ? "did not accept" : "refused"
        return MailError(.serverError, "the IMAP server \(server.endpoint) \(verb) \(what): \(result.status.serverText)")
    }

    /// A string argument: quoted when it is printable ASCII, else a literal.
    static func astring(_ value: String) -> [CommandPart] {
        let bytes = Array(value.utf8)
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return [.literal(bytes)] }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return [.text(quoted + "\"")]
    }

    private func logResponse(length: Int) {
        guard logger.logLevel <= .debug else { return }
        let line = buffer.withUnsafeReadableBytes { bytes in
            let window = bytes.prefix(min(length, 300))
            let end = window.firstIndex(of: UInt8(ascii: "\r")) ?? window.firstIndex(of: UInt8(ascii: "\n")) ?? window.endIndex
            return String(decoding: window[..<end], as: UTF8.self)
        }
        logger.debug("S: \(line)\(length > 300 ? " …(\(length) bytes)" : "")")
    }
}
