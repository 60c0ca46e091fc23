import Foundation

/// A triggering message as a run's input: who sent it, when, its subject, its text (HTML turned
/// into text) and its attachments' names, with where it lies, so the agent can answer it
/// (`email_send` with `replyToUid`) or read it whole (`email_read`).
struct TriggerInput: Sendable {
    var text: String
    var messageId: String?

    init(raw: [UInt8], connectorName: String, folder: String, uid: UInt32, maxBodyCharacters: Int) {
        let message = MailMessage(parsing: raw)
        messageId = message.messageID
        var lines = ["A new email arrived (connector \"\(connectorName)\", folder \(folder), UID \(uid)).", ""]
        if let from = message.headers["From"] { lines.append("From: \(from)") }
        if let to = message.headers["To"] { lines.append("To: \(to)") }
        if let cc = message.headers["Cc"] { lines.append("Cc: \(cc)") }
        if let date = message.headers["Date"] { lines.append("Date: \(date)") }
        lines.append("Subject: \(message.subject ?? "")")
        if let messageId = message.messageID { lines.append("Message-ID: \(messageId)") }
        lines.append("")
        var body = message.text
        if body.count > maxBodyCharacters {
            body = String(body.prefix(maxBodyCharacters)) + "\n[… the message continues: read it whole with email_read uid \(uid)]"
        }
        lines.append(body)
        if !message.attachments.isEmpty {
            lines.append("")
            lines.append("Attachments: " + message.attachments.map { "\($0.filename ?? "unnamed") (\($0.size) bytes)" }.joined(separator: ", "))
        }
        text = String(lines.joined(separator: "\n").prefix(100_000))
    }
}
