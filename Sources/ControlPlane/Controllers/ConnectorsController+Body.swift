import Foundation
import PersonaKit
import PersonaStorage

/// The request bodies of `/api/personas/{id}/connectors` and how they become a stored email
/// connector: defaults, checks and the PATCH merge.
extension ConnectorsController {
    /// A nested object of a request body: its members are decoded as usual, and a member it
    /// does not know is refused (as `decodeJSON` refuses one at the top level).
    protocol NestedBody: Decodable, Sendable {
        static var fields: Set<String> { get }
    }

    /// Wraps a ``NestedBody`` member: `imap`, `folders`, `trigger.filter`, ...
    struct Strict<Body: NestedBody>: Decodable, Sendable {
        var value: Body

        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            let prefix = decoder.codingPath.map(\.stringValue).joined(separator: ".")
            if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !Body.fields.contains($0) }) {
                throw APIError.validation("Unknown field '\(prefix.isEmpty ? "" : prefix + ".")\(unknown)'")
            }
            value = try Body(from: decoder)
        }
    }

    /// One mail server. On create `host` is required; the SMTP server's username and password
    /// default to the IMAP server's. On PATCH only the given members change; `password` is
    /// write-only.
    struct ServerBody: NestedBody {
        var host: String?
        var port: Int?
        var security: String?
        var username: String?
        var password: String?
        static let fields: Set<String> = ["host", "port", "security", "username", "password"]
    }

    struct FoldersBody: NestedBody {
        var inbox: String?
        var sent: String?
        var archive: String?
        var trash: String?
        static let fields: Set<String> = ["inbox", "sent", "archive", "trash"]
    }

    struct FilterBody: NestedBody {
        var unseenOnly: Bool?
        var fromContains: String?
        var subjectContains: String?
        static let fields: Set<String> = ["unseenOnly", "fromContains", "subjectContains"]
    }

    struct TriggerBody: NestedBody {
        var agentId: String
        var folder: String?
        var filter: Strict<FilterBody>?
        var action: String?
        var moveTo: String?
        static let fields: Set<String> = ["agentId", "folder", "filter", "action", "moveTo"]
    }

    struct CreateBody: StrictBody {
        var kind: String
        var name: String
        var enabled: Bool?
        var imap: Strict<ServerBody>?
        var smtp: Strict<ServerBody>?
        var fromAddress: String?
        var fromName: String?
        var folders: Strict<FoldersBody>?
        var caCertificate: String?
        var trigger: Strict<TriggerBody>?
        static let fields: Set<String> = ["kind", "name", "enabled", "imap", "smtp", "fromAddress", "fromName", "folders",
                                          "caCertificate", "trigger"]
    }

    struct UpdateBody: StrictBody {
        var name: String?
        var enabled: Bool?
        var imap: Strict<ServerBody>?
        var smtp: Strict<ServerBody>?
        var fromAddress: String?
        var fromName: String?
        var folders: Strict<FoldersBody>?
        var caCertificate: Patch<String>
        var trigger: Patch<Strict<TriggerBody>>
        static let fields: Set<String> = ["name", "enabled", "imap", "smtp", "fromAddress", "fromName", "folders",
                                          "caCertificate", "trigger"]
    }

    // MARK: - Checks

    static let maxPasswordBytes = 1024
    static let maxCertificateBytes = 65_536

    static func name(_ value: String) throws -> String {
        let name = try Validate.text(value, field: "name", max: 100)
        guard !name.contains(where: { $0.isNewline }) else { throw APIError.validation("name must be one line") }
        return name
    }

    static func security(_ value: String?, field: String) throws -> MailSecurity? {
        guard let value else { return nil }
        guard let security = MailSecurity(rawValue: value) else {
            throw APIError.validation("\(field).security must be tls, starttls or none")
        }
        return security
    }

    static func host(_ value: String, field: String) throws -> String {
        let host = value.trimmingCharacters(in: .whitespaces)
        let allowed = host.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-.:[]_".unicodeScalars.contains($0)
        }
        guard (1...253).contains(host.utf8.count), allowed, !host.hasPrefix("-"), !host.hasPrefix(".") else {
            throw APIError.validation("\(field).host must be a host name or an IP address")
        }
        return host
    }

    static func port(_ value: Int, field: String) throws -> Int {
        guard (1...65_535).contains(value) else { throw APIError.validation("\(field).port must be from 1 to 65535") }
        return value
    }

    static func username(_ value: String, field: String) throws -> String {
        guard (1...320).contains(value.utf8.count), !value.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw APIError.validation("\(field).username must be 1 to 320 bytes on one line")
        }
        return value
    }

    static func password(_ value: String, field: String) throws -> String {
        guard (1...maxPasswordBytes).contains(value.utf8.count), !value.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw APIError.validation("\(field).password must be 1 to \(maxPasswordBytes) bytes on one line")
        }
        return value
    }

    /// A mailbox name as IMAP spells it (`INBOX`, `Archive/2026`).
    static func folder(_ value: String, field: String) throws -> String {
        guard (1...255).contains(value.utf8.count), !value.contains(where: { $0.isNewline || $0 == "\0" || $0 == "\"" }),
              !value.hasPrefix(" "), !value.hasSuffix(" ") else {
            throw APIError.validation("\(field) must be a folder name of 1 to 255 bytes without quotes or line breaks")
        }
        return value
    }

    static func address(_ value: String, field: String) throws -> String {
        let address = value.trimmingCharacters(in: .whitespaces)
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard address.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              !address.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == "\"" }) else {
            throw APIError.validation("\(field) is not a valid email address")
        }
        return address
    }

    static func displayName(_ value: String, field: String) throws -> String {
        guard value.count <= 200, !value.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw APIError.validation("\(field) must be at most 200 characters on one line")
        }
        return value
    }

    /// A PEM bundle of one or more certificates (checked for shape here; the mail client parses it).
    static func certificate(_ value: String) throws -> String {
        let pem = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard pem.utf8.count <= maxCertificateBytes, pem.hasPrefix("-----BEGIN CERTIFICATE-----"),
              pem.hasSuffix("-----END CERTIFICATE-----") else {
            throw APIError.validation("caCertificate must be PEM (-----BEGIN CERTIFICATE----- ...), at most \(maxCertificateBytes) bytes")
        }
        return pem + "\n"
    }

    static func defaultPort(imap security: MailSecurity) -> Int { security == .tls ? 993 : 143 }

    static func defaultPort(smtp security: MailSecurity) -> Int {
        switch security {
        case .tls: 465
        case .starttls: 587
        case .none: 25
        }
    }

    /// The IMAP server of a new connector: host and username required, TLS by default.
    static func newIMAP(_ body: ServerBody?) throws -> (MailEndpoint, String) {
        guard let body else { throw APIError.validation("Missing field 'imap'") }
        guard let host = body.host else { throw APIError.validation("Missing field 'imap.host'") }
        guard let username = body.username else { throw APIError.validation("Missing field 'imap.username'") }
        guard let password = body.password else { throw APIError.validation("Missing field 'imap.password'") }
        let security = try self.security(body.security, field: "imap") ?? .tls
        let endpoint = MailEndpoint(host: try self.host(host, field: "imap"), port: try port(body.port ?? defaultPort(imap: security), field: "imap"),
                                    security: security, username: try self.username(username, field: "imap"))
        return (endpoint, try self.password(password, field: "imap"))
    }

    /// The SMTP server of a new connector: the IMAP host, username and password unless given;
    /// STARTTLS on 587 by default.
    static func newSMTP(_ body: ServerBody?, imap: MailEndpoint, imapPassword: String) throws -> (MailEndpoint, String) {
        let security = try self.security(body?.security, field: "smtp") ?? .starttls
        let endpoint = MailEndpoint(host: try host(body?.host ?? imap.host, field: "smtp"),
                                    port: try port(body?.port ?? defaultPort(smtp: security), field: "smtp"),
                                    security: security, username: try username(body?.username ?? imap.username, field: "smtp"))
        return (endpoint, try password(body?.password ?? imapPassword, field: "smtp"))
    }

    /// `body`'s members applied to an existing server; a changed security without a port moves
    /// to that security's usual port.
    static func merged(_ current: MailEndpoint, _ body: ServerBody?, field: String, smtp: Bool) throws -> MailEndpoint {
        guard let body else { return current }
        var endpoint = current
        if let host = body.host { endpoint.host = try self.host(host, field: field) }
        if let security = try self.security(body.security, field: field), security != endpoint.security {
            endpoint.security = security
            if body.port == nil { endpoint.port = smtp ? defaultPort(smtp: security) : defaultPort(imap: security) }
        }
        if let port = body.port { endpoint.port = try self.port(port, field: field) }
        if let username = body.username { endpoint.username = try self.username(username, field: field) }
        return endpoint
    }

    static func folders(_ body: FoldersBody?, current: EmailFolders) throws -> EmailFolders {
        guard let body else { return current }
        var folders = current
        if let inbox = body.inbox { folders.inbox = try folder(inbox, field: "folders.inbox") }
        if let sent = body.sent { folders.sent = try folder(sent, field: "folders.sent") }
        if let archive = body.archive { folders.archive = try folder(archive, field: "folders.archive") }
        if let trash = body.trash { folders.trash = try folder(trash, field: "folders.trash") }
        return folders
    }

    static func filterText(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        guard (1...200).contains(value.utf8.count), !value.contains(where: { $0.isNewline || $0 == "\"" || $0 == "\\" }) else {
            throw APIError.validation("\(field) must be 1 to 200 bytes on one line without quotes or backslashes")
        }
        return value
    }
}
