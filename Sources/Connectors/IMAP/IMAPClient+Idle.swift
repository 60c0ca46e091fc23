import NIOCore

extension IMAPClient {
    /// Waits in IDLE (RFC 2177) until the selected folder changes, `timeout` passes, or the
    /// task is cancelled; then ends IDLE with DONE and reads its tagged answer (also when
    /// cancelled, so the connection stays usable).
    ///
    /// Changes announced before the server's go-ahead count too. Keep `timeout` under the
    /// server's 30-minute limit and IDLE again after `.timedOut`.
    /// - Throws: `CancellationError` after a clean DONE when the task was cancelled;
    ///   `protocol_error` when the server lacks IDLE (poll with ``noop()``) or no folder is
    ///   selected; `MailError` for a lost connection.
    package func idle(timeout: Duration = .seconds(25 * 60)) async throws -> IdleEvent {
        guard capabilities.contains("IDLE") else {
            throw MailError(.protocolError, "the IMAP server \(server.endpoint) does not support IDLE: poll with NOOP")
        }
        guard selectedFolder != nil else {
            throw MailError(.protocolError, "IDLE needs a selected folder")
        }
        let tag = try beginCommand()
        defer { busy = false }
        logger.debug("C: \(tag) IDLE")
        try await connection.write(ByteBuffer(string: "\(tag) IDLE\r\n"), within: server.commandTimeout)
        var changes = MailboxChanges()
        goAhead: while true {
            let response = try await nextResponse(within: server.commandTimeout, waitingFor: "the go-ahead to IDLE")
            switch response {
            case .continuation:
                break goAhead
            case .tagged(tag, let status):
                throw failure(CommandResult(status: status, untagged: []), "IDLE")
            default:
                changes.note(response)
            }
        }

        let deadline = ContinuousClock.now + timeout
        var cancelled = false
        waiting: while changes.isEmpty {
            let remaining = deadline - .now
            guard remaining > .zero else { break }
            do {
                let response = try await nextResponse(within: remaining, waitingFor: "IDLE")
                if case .tagged(tag, let status) = response {
                    // The server ended IDLE on its own: no DONE to send.
                    guard status.kind == .ok else { throw failure(CommandResult(status: status, untagged: []), "IDLE") }
                    return changes.isEmpty ? .timedOut : .changed(changes)
                }
                changes.note(response)
            } catch let error as MailError where error.code == .timeout {
                break waiting
            } catch is CancellationError {
                cancelled = true
                break waiting
            }
        }

        logger.debug("C: DONE")
        try await connection.write(ByteBuffer(string: "DONE\r\n"), within: server.commandTimeout)
        while true {
            let response = try await nextResponse(within: server.commandTimeout, waitingFor: "the end of IDLE", cancellable: false)
            if case .tagged(tag, let status) = response {
                guard status.kind == .ok else { throw failure(CommandResult(status: status, untagged: []), "IDLE") }
                break
            }
            changes.note(response)
        }
        if cancelled { throw CancellationError() }
        return changes.isEmpty ? .timedOut : .changed(changes)
    }
}
