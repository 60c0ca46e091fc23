#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One UID SEARCH criterion; a list of them must all match (IMAP's AND).
package indirect enum SearchKey: Sendable, Hashable {
    case all
    case seen, unseen, flagged, unflagged, answered, unanswered, deleted, undeleted
    /// `UID lower:upper`, `upper` nil for `*` (the highest UID). ``IMAPClient/uidSearch(_:)``
    /// drops results outside the range: `n:*` always matches the last message, even below `n`.
    case uids(from: UInt32, through: UInt32?)
    case from(String), to(String), cc(String), subject(String), body(String), text(String)
    case header(String, String)
    /// Received on or after this day (the server's internal date; days in UTC).
    case since(Date)
    /// Received before this day.
    case before(Date)
    /// Sent (Date: header) on or after this day.
    case sentSince(Date)
    case larger(Int), smaller(Int)
    case keyword(String), unkeyword(String)
    case not(SearchKey)
    case or(SearchKey, SearchKey)

    /// Whether a string in it needs `CHARSET UTF-8`.
    var needsUTF8: Bool {
        switch self {
        case .from(let s), .to(let s), .cc(let s), .subject(let s), .body(let s), .text(let s), .keyword(let s), .unkeyword(let s):
            !s.utf8.allSatisfy { $0 < 0x80 }
        case .header(let name, let value):
            !(name + value).utf8.allSatisfy { $0 < 0x80 }
        case .not(let key):
            key.needsUTF8
        case .or(let a, let b):
            a.needsUTF8 || b.needsUTF8
        default:
            false
        }
    }

    func parts() throws -> [IMAPClient.CommandPart] {
        func keyed(_ key: String, _ value: String) -> [IMAPClient.CommandPart] {
            [.text("\(key) ")] + IMAPClient.astring(value)
        }
        switch self {
        case .all: return [.text("ALL")]
        case .seen: return [.text("SEEN")]
        case .unseen: return [.text("UNSEEN")]
        case .flagged: return [.text("FLAGGED")]
        case .unflagged: return [.text("UNFLAGGED")]
        case .answered: return [.text("ANSWERED")]
        case .unanswered: return [.text("UNANSWERED")]
        case .deleted: return [.text("DELETED")]
        case .undeleted: return [.text("UNDELETED")]
        case .uids(let from, let through): return [.text("UID \(max(from, 1)):\(through.map(String.init) ?? "*")")]
        case .from(let value): return keyed("FROM", value)
        case .to(let value): return keyed("TO", value)
        case .cc(let value): return keyed("CC", value)
        case .subject(let value): return keyed("SUBJECT", value)
        case .body(let value): return keyed("BODY", value)
        case .text(let value): return keyed("TEXT", value)
        case .header(let name, let value): return [.text("HEADER ")] + IMAPClient.astring(name) + [.text(" ")] + IMAPClient.astring(value)
        case .since(let date): return [.text("SINCE \(Self.imapDay(date))")]
        case .before(let date): return [.text("BEFORE \(Self.imapDay(date))")]
        case .sentSince(let date): return [.text("SENTSINCE \(Self.imapDay(date))")]
        case .larger(let size): return [.text("LARGER \(max(size, 0))")]
        case .smaller(let size): return [.text("SMALLER \(max(size, 0))")]
        case .keyword(let flag): return [.text("KEYWORD \(try IMAPClient.flagAtom(flag))")]
        case .unkeyword(let flag): return [.text("UNKEYWORD \(try IMAPClient.flagAtom(flag))")]
        case .not(let key): return [.text("NOT (")] + (try key.parts()) + [.text(")")]
        case .or(let a, let b): return [.text("OR (")] + (try a.parts()) + [.text(") (")] + (try b.parts()) + [.text(")")]
        }
    }

    /// `1-Feb-1994`, the day of `date` in UTC.
    static func imapDay(_ date: Date) -> String {
        let day = CivilDate(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)))
        return "\(day.day)-\(CivilDate.monthNames[day.month - 1])-\(day.year)"
    }
}

/// UID sets on the wire: `1:3,5,9:12`, sorted, in commands of bounded length.
enum UIDSet {
    /// The UIDs as ranges, split so no set is longer than `maximumLength` characters.
    static func encode(_ uids: some Sequence<UInt32>, maximumLength: Int = 4000) -> [String] {
        let sorted = Array(Set(uids)).sorted()
        var sets: [String] = []
        var current = ""
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
            let range = end == index ? "\(sorted[index])" : "\(sorted[index]):\(sorted[end])"
            if !current.isEmpty, current.utf8.count + range.utf8.count + 1 > maximumLength {
                sets.append(current)
                current = ""
            }
            current += current.isEmpty ? range : ",\(range)"
            index = end + 1
        }
        if !current.isEmpty { sets.append(current) }
        return sets
    }
}

extension IMAPClient {
    /// A flag or keyword as the atom IMAP needs (`\Seen`, `$Forwarded`, `urgent`).
    /// - Throws: `protocol_error` for text that cannot be a flag (spaces, parentheses, quotes,
    ///   non-ASCII, `\` anywhere but first).
    static func flagAtom(_ flag: String) throws -> String {
        let specials: Set<UInt8> = Set("(){ %*\"]\\".utf8)
        let bytes = Array(flag.utf8)
        let valid = !bytes.isEmpty && bytes.enumerated().allSatisfy { index, byte in
            byte > 0x20 && byte < 0x7F && (!specials.contains(byte) || (byte == UInt8(ascii: "\\") && index == 0 && bytes.count > 1))
        }
        guard valid else { throw MailError(.protocolError, "\"\(flag)\" is not a valid IMAP flag") }
        return flag
    }
}
