#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What SELECT (or EXAMINE) says about a folder.
package struct MailboxStatus: Sendable, Hashable {
    package var name: String
    /// Changes when the server renumbered the folder: UIDs remembered under another validity
    /// no longer name the same messages.
    package var uidValidity: UInt32
    /// The UID the next message will get at least; messages with a UID at or above it are new.
    package var uidNext: UInt32
    /// Messages in the folder.
    package var exists: UInt32
    package var recent: UInt32
    /// Flags the folder knows (`\Seen`, `\Answered`, custom keywords).
    package var flags: [String]
    package var readOnly: Bool
}

/// One message as UID FETCH BODY.PEEK[] returned it (fetching does not set `\Seen`).
package struct FetchedMessage: Sendable, Hashable {
    package var uid: UInt32
    package var flags: [String]
    /// The whole message (RFC 5322 bytes), exactly as stored.
    package var raw: [UInt8]
    /// When the server received it (INTERNALDATE), if it said.
    package var internalDate: Date?
}

/// A message's envelope data without its body: what a listing needs.
package struct MessageSummary: Sendable, Hashable {
    package var uid: UInt32
    package var flags: [String]
    /// RFC822.SIZE: the message's size in bytes.
    package var size: Int
    package var internalDate: Date?
    /// The raw header block (`MailMessage(parsing:)` reads it: from, subject, date...).
    package var header: [UInt8]
}

/// A folder as LIST names it.
package struct MailFolder: Sendable, Hashable {
    /// The name decoded from IMAP's modified UTF-7 (`Entwürfe`, not `Entw&APw-rfe`).
    package var name: String
    /// The hierarchy separator (`/` or `.`), if the server has one.
    package var delimiter: String?
    /// `\HasNoChildren`, `\Noselect`, special use (`\Sent`, `\Archive`, `\Trash`, `\Junk`)...
    package var attributes: [String]
}

/// What changed in the selected folder, from untagged responses (NOOP, IDLE).
package struct MailboxChanges: Sendable, Hashable {
    /// The folder's new message count (EXISTS), if it was announced.
    package var exists: UInt32?
    /// How many messages were expunged.
    package var expunged = 0
    /// How many flag updates (FETCH) came.
    package var flagUpdates = 0

    package var isEmpty: Bool { exists == nil && expunged == 0 && flagUpdates == 0 }

    mutating func note(_ response: IMAPResponse) {
        guard case .numbered(let number, let keyword, _) = response else { return }
        switch keyword {
        case "EXISTS": exists = number
        case "EXPUNGE": expunged += 1
        case "FETCH": flagUpdates += 1
        default: break
        }
    }
}

/// How an IDLE ended.
package enum IdleEvent: Sendable, Hashable {
    /// The folder changed (a new message, an expunge, a flag change): search again.
    case changed(MailboxChanges)
    /// The time given passed without a change (re-IDLE; servers drop idlers after 30 min).
    case timedOut
}

/// A flag change for UID STORE.
package enum FlagChange: Sendable, Hashable {
    case add
    case remove
    case replace
}
