/// One SMTP reply: a three-digit code and its text lines (`250-mail.example` ... `250 SMTPUTF8`).
package struct SMTPReply: Sendable, Hashable {
    package var code: Int
    /// Each line's text after the code and its separator.
    package var lines: [String]

    /// The lines joined with spaces, as a message quotes the server.
    package var text: String { lines.joined(separator: " ") }

    package var isPositive: Bool { (200..<400).contains(code) }

    /// Reads one whole reply from the front of `bytes`: nil when it is not all there yet.
    /// - Throws: `protocol_error` for a line that does not start with a three-digit code.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> (SMTPReply, consumed: Int)? {
        var lines: [String] = []
        var code: Int?
        var lineStart = 0
        while lineStart < bytes.count {
            guard let lineFeed = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            var lineEnd = lineFeed
            if lineEnd > lineStart, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = bytes[lineStart..<lineEnd]
            guard line.count >= 3, let lineCode = Int(String(decoding: line.prefix(3), as: UTF8.self)),
                  line.prefix(3).allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw MailError(.protocolError, "the server sent a line that is not an SMTP reply")
            }
            if let code, code != lineCode {
                throw MailError(.protocolError, "the SMTP server mixed reply codes \(code) and \(lineCode) in one reply")
            }
            code = lineCode
            let separator = line.count > 3 ? line[line.startIndex + 3] : UInt8(ascii: " ")
            lines.append(line.count > 4 ? String(decoding: line.dropFirst(4), as: UTF8.self) : "")
            lineStart = lineFeed + 1
            if separator != UInt8(ascii: "-") {
                return (SMTPReply(code: lineCode, lines: lines), lineStart)
            }
        }
        return nil
    }
}

/// What happened to each recipient of a message sent with ``SMTPClient/send(from:recipients:data:)``.
package struct SMTPSendResult: Sendable, Hashable {
    package struct Rejection: Sendable, Hashable {
        package var address: String
        package var code: Int
        /// The server's text (`5.1.1 recipient rejected`).
        package var message: String
    }

    /// Recipients the server took (RCPT TO answered 250/251).
    package var accepted: [String]
    /// Recipients it refused; the message went to the others.
    package var rejected: [Rejection]
    /// The server's answer to the message (`2.0.0 Ok: queued as 4F1C2`).
    package var reply: String
}
