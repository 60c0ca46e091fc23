#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Folders and messages: SELECT, UID SEARCH, UID FETCH, UID STORE, UID MOVE, APPEND, LIST.
extension IMAPClient {
    /// Opens `folder` (SELECT, or EXAMINE when `readOnly`) and reads its UIDVALIDITY, UIDNEXT
    /// and message count.
    /// - Throws: `not_found` when the folder does not exist, `server_error` for other refusals.
    package func select(_ folder: String, readOnly: Bool = false) async throws -> MailboxStatus {
        let verb = readOnly ? "EXAMINE" : "SELECT"
        selectedFolder = nil
        let result = try await execute([.text("\(verb) ")] + Self.mailbox(folder), logged: "\(verb) \(folder)")
        guard result.status.kind == .ok else {
            if result.status.kind == .no, !Self.transientCodes.contains(result.status.code ?? "") {
                throw MailError(.notFound, "the folder \"\(folder)\" does not exist on the IMAP server \(server.endpoint) (\(result.status.serverText))")
            }
            throw failure(result, "\(verb) \(folder)")
        }
        var status = MailboxStatus(name: folder, uidValidity: 0, uidNext: 0, exists: 0, recent: 0, flags: [],
                                   readOnly: readOnly || result.status.code == "READ-ONLY")
        var sawValidity = false, sawNext = false
        for response in result.untagged {
            switch response {
            case .numbered(let count, "EXISTS", _): status.exists = count
            case .numbered(let count, "RECENT", _): status.recent = count
            case .data("FLAGS", let values): status.flags = values.first?.list?.compactMap(\.text) ?? []
            case .status(let untagged) where untagged.code == "UIDVALIDITY":
                status.uidValidity = UInt32(untagged.codeArguments.trimmingSpaces) ?? 0
                sawValidity = true
            case .status(let untagged) where untagged.code == "UIDNEXT":
                status.uidNext = UInt32(untagged.codeArguments.trimmingSpaces) ?? 0
                sawNext = true
            default: break
            }
        }
        guard sawValidity, status.uidValidity != 0 else {
            throw MailError(.protocolError, "the IMAP server \(server.endpoint) gave no UIDVALIDITY for \(folder)")
        }
        selectedFolder = folder
        if !sawNext || status.uidNext == 0 {
            // Old servers need not say UIDNEXT: one past the highest UID is as good.
            status.uidNext = (try await uidSearch([.all]).last ?? 0) + 1
        }
        return status
    }

    /// UID SEARCH in the selected folder; the keys must all match (none: every message).
    /// Non-ASCII strings are sent as UTF-8 literals with `CHARSET UTF-8`.
    /// - Returns: the matching UIDs, ascending; for `.uids` ranges, only UIDs inside them.
    package func uidSearch(_ keys: [SearchKey]) async throws -> [UInt32] {
        let keys = keys.isEmpty ? [SearchKey.all] : keys
        var parts: [CommandPart] = [.text("UID SEARCH ")]
        if keys.contains(where: \.needsUTF8) { parts.append(.text("CHARSET UTF-8 ")) }
        for (index, key) in keys.enumerated() {
            if index > 0 { parts.append(.text(" ")) }
            parts += try key.parts()
        }
        let result = try await execute(parts, logged: Self.describe(parts))
        try require(result, "the search")
        var uids = Set<UInt32>()
        for case .data("SEARCH", let values) in result.untagged {
            values.compactMap(\.number).forEach { uids.insert($0) }
        }
        for case .uids(let from, let through) in keys {
            uids = uids.filter { $0 >= from && $0 <= (through ?? .max) }
        }
        return uids.sorted()
    }

    /// The whole message with this UID (BODY.PEEK[]: `\Seen` is not set), its flags and
    /// internal date; nil when no message has that UID (any more).
    package func uidFetchMessage(_ uid: UInt32) async throws -> FetchedMessage? {
        let result = try await execute([.text("UID FETCH \(uid) (UID FLAGS INTERNALDATE BODY.PEEK[])")], logged: "UID FETCH \(uid) (UID FLAGS INTERNALDATE BODY.PEEK[])")
        try require(result, "UID FETCH \(uid)")
        guard let item = Self.fetchItems(result.untagged).first(where: { $0["UID"]?.number == uid }),
              let raw = item["BODY[]"]?.bytes else { return nil }
        return FetchedMessage(uid: uid, flags: Self.flags(item["FLAGS"]), raw: raw,
                              internalDate: item["INTERNALDATE"]?.text.flatMap(MailDate.parseInternalDate))
    }

    /// Flags, size, internal date and header block of each message with one of these UIDs
    /// (UIDs that no longer exist are left out), ascending by UID.
    package func uidFetchSummaries(_ uids: [UInt32]) async throws -> [MessageSummary] {
        var summaries: [MessageSummary] = []
        for set in UIDSet.encode(uids) {
            let command = "UID FETCH \(set) (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER])"
            let result = try await execute([.text(command)], logged: command)
            try require(result, "UID FETCH")
            for item in Self.fetchItems(result.untagged) {
                guard let uid = item["UID"]?.number, let header = item["BODY[HEADER]"]?.bytes else { continue }
                summaries.append(MessageSummary(uid: uid, flags: Self.flags(item["FLAGS"]), size: Int(item["RFC822.SIZE"]?.number ?? 0),
                                                internalDate: item["INTERNALDATE"]?.text.flatMap(MailDate.parseInternalDate), header: header))
            }
        }
        return summaries.sorted { $0.uid < $1.uid }
    }

    /// Adds, removes or replaces flags (`\Seen`, `\Flagged`, keywords) on these UIDs.
    package func uidStore(_ uids: [UInt32], _ change: FlagChange, flags: [String]) async throws {
        let atoms = try flags.map(Self.flagAtom).joined(separator: " ")
        let item = switch change {
        case .add: "+FLAGS.SILENT"
        case .remove: "-FLAGS.SILENT"
        case .replace: "FLAGS.SILENT"
        }
        for set in UIDSet.encode(uids) {
            let command = "UID STORE \(set) \(item) (\(atoms))"
            try require(try await execute([.text(command)], logged: command), "UID STORE")
        }
    }

    /// Moves these UIDs to `folder`: UID MOVE when the server has MOVE, else UID COPY, then
    /// `\Deleted` and UID EXPUNGE (UIDPLUS) or EXPUNGE (which also removes any other message
    /// already marked `\Deleted` in the folder).
    /// - Throws: `not_found` when `folder` does not exist.
    package func uidMove(_ uids: [UInt32], to folder: String) async throws {
        guard capabilities.contains("MOVE") else { return try await uidMoveByCopy(uids, to: folder) }
        for set in UIDSet.encode(uids) {
            let result = try await execute([.text("UID MOVE \(set) ")] + Self.mailbox(folder), logged: "UID MOVE \(set) \(folder)")
            try requireFolder(result, folder, "UID MOVE")
        }
    }

    /// The fallback of ``uidMove(_:to:)`` for servers without MOVE.
    func uidMoveByCopy(_ uids: [UInt32], to folder: String) async throws {
        for set in UIDSet.encode(uids) {
            let copied = try await execute([.text("UID COPY \(set) ")] + Self.mailbox(folder), logged: "UID COPY \(set) \(folder)")
            try requireFolder(copied, folder, "UID COPY")
            let store = "UID STORE \(set) +FLAGS.SILENT (\\Deleted)"
            try require(try await execute([.text(store)], logged: store), "UID STORE")
            let expunge = capabilities.contains("UIDPLUS") ? "UID EXPUNGE \(set)" : "EXPUNGE"
            try require(try await execute([.text(expunge)], logged: expunge), "EXPUNGE")
        }
    }

    /// Stores a message in `folder` (APPEND) with these flags.
    /// - Returns: its UID when the server says (UIDPLUS's APPENDUID).
    /// - Throws: `not_found` when `folder` does not exist, `server_error` when it refuses the
    ///   message (too large, malformed).
    @discardableResult
    package func append(_ message: [UInt8], to folder: String, flags: [String] = []) async throws -> UInt32? {
        let atoms = try flags.map(Self.flagAtom).joined(separator: " ")
        let parts = [.text("APPEND ")] + Self.mailbox(folder) + [.text(" (\(atoms)) "), .literal(message)]
        let result = try await execute(parts, logged: "APPEND \(folder) (\(atoms)) {\(message.count)}")
        try requireFolder(result, folder, "APPEND")
        guard result.status.code == "APPENDUID" else { return nil }
        return result.status.codeArguments.split(separator: " ").last.flatMap { UInt32($0) }
    }

    /// Creates `folder`; one that already exists is fine.
    package func createFolder(_ folder: String) async throws {
        let result = try await execute([.text("CREATE ")] + Self.mailbox(folder), logged: "CREATE \(folder)")
        if result.status.kind == .no, result.status.code == "ALREADYEXISTS" { return }
        try require(result, "CREATE \(folder)")
    }

    /// Deletes `folder` and its messages (tests make a folder again to change its UIDVALIDITY).
    package func deleteFolder(_ folder: String) async throws {
        let result = try await execute([.text("DELETE ")] + Self.mailbox(folder), logged: "DELETE \(folder)")
        try require(result, "DELETE \(folder)")
    }

    /// Every folder of the account (LIST "" "*").
    package func listFolders() async throws -> [MailFolder] {
        let result = try await execute([.text("LIST \"\" \"*\"")], logged: "LIST \"\" \"*\"")
        try require(result, "LIST")
        return result.untagged.compactMap { response in
            guard case .data("LIST", let values) = response, values.count >= 3, let name = values[2].text else { return nil }
            return MailFolder(name: ModifiedUTF7.decode(name), delimiter: values[1].text,
                              attributes: values[0].list?.compactMap(\.text) ?? [])
        }
    }

    // MARK: - Helpers

    /// NO with these codes is a passing condition of the server, not a missing folder.
    static let transientCodes: Set<String> = ["UNAVAILABLE", "SERVERBUG", "LIMIT", "INUSE", "NOPERM", "OVERQUOTA", "CONTACTADMIN"]

    /// A folder name as a command argument (modified UTF-7, quoted).
    static func mailbox(_ name: String) -> [CommandPart] {
        astring(ModifiedUTF7.encode(name))
    }

    private func requireFolder(_ result: CommandResult, _ folder: String, _ what: String) throws {
        if result.status.kind == .no, result.status.code == "TRYCREATE" || result.status.code == "NONEXISTENT" {
            throw MailError(.notFound, "the folder \"\(folder)\" does not exist on the IMAP server \(server.endpoint) (\(result.status.serverText))")
        }
        try require(result, what)
    }

    /// FETCH responses merged per message: item names (upper-cased) to values.
    static func fetchItems(_ responses: [IMAPResponse]) -> [[String: IMAPValue]] {
        var bySequence: [UInt32: [String: IMAPValue]] = [:]
        var order: [UInt32] = []
        for case .numbered(let sequence, "FETCH", let values) in responses {
            guard let list = values.first?.list else { continue }
            if bySequence[sequence] == nil { order.append(sequence) }
            var index = 0
            while index + 1 < list.count {
                if let key = list[index].text?.uppercased() { bySequence[sequence, default: [:]][key] = list[index + 1] }
                index += 2
            }
        }
        return order.compactMap { bySequence[$0] }
    }

    static func flags(_ value: IMAPValue?) -> [String] {
        value?.list?.compactMap(\.text) ?? []
    }

    /// A command for the log: text as it is, literals as their size.
    static func describe(_ parts: [CommandPart]) -> String {
        parts.map { part in
            switch part {
            case .text(let text): text
            case .literal(let bytes): "{\(bytes.count)}"
            case .afterContinuation: " <continuation>"
            }
        }.joined()
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
