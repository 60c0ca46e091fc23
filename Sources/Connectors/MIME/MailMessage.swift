#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An attachment (or inline part that is not the message's text), decoded.
package struct MailAttachment: Sendable, Hashable {
    /// From `Content-Disposition`'s `filename` or `Content-Type`'s `name` (RFC 2231 and
    /// RFC 2047 decoded), if the sender gave one.
    package var filename: String?
    /// `image/png`, lower-cased.
    package var contentType: String
    /// Decoded size in bytes.
    package var size: Int { data.count }
    /// `Content-ID` without its angle brackets (an inline image the HTML refers to).
    package var contentID: String?
    /// `Content-Disposition: inline`.
    package var isInline: Bool
    package var data: [UInt8]
}

/// A message read from its RFC 5322 / MIME bytes: decoded headers, the text to show and the
/// attachments. Reading never fails: a missing boundary, bad base64, raw 8-bit headers or a
/// truncated message give what can be read.
package struct MailMessage: Sendable, Hashable {
    package var headers: MailHeaders
    package var from: [MailAddress]
    package var to: [MailAddress]
    package var cc: [MailAddress]
    package var replyTo: [MailAddress]
    package var subject: String?
    /// The `Date:` header, when it can be read.
    package var date: Date?
    /// `Message-ID` with its angle brackets (`<abc@example.com>`), as replies quote it.
    package var messageID: String?
    package var inReplyTo: [String]
    package var references: [String]
    /// The body as plain text: the text/plain part, else the HTML part turned into text; line
    /// ends are `\n` and trailing blank lines are dropped.
    package var text: String
    /// The HTML part, if there is one.
    package var html: String?
    package var attachments: [MailAttachment]

    /// Reads a whole message (or only its header block: the body is then empty).
    package init(parsing bytes: [UInt8]) {
        let (headers, bodyStart) = MailHeaders.parse(bytes[...])
        self.headers = headers
        from = headers.field("From").map { MailAddress.parseList($0.raw) } ?? []
        to = headers.field("To").map { MailAddress.parseList($0.raw) } ?? []
        cc = headers.field("Cc").map { MailAddress.parseList($0.raw) } ?? []
        replyTo = headers.field("Reply-To").map { MailAddress.parseList($0.raw) } ?? []
        subject = headers["Subject"]
        date = headers["Date"].flatMap(MailDate.parse)
        messageID = headers["Message-ID"].flatMap { Self.messageIDs($0).first }
        inReplyTo = headers["In-Reply-To"].map(Self.messageIDs) ?? []
        references = headers["References"].map(Self.messageIDs) ?? []

        var walker = MIMEWalker()
        walker.walk(entity: bytes[...], headers: headers, bodyStart: bodyStart, depth: 0, defaultType: "text/plain")
        html = walker.html
        text = Self.normalizedLines(walker.plain ?? walker.html.map(HTMLText.plainText) ?? "")
        attachments = walker.attachments
    }

    /// Line ends as `\n` (CRLF and lone CR both), no trailing line breaks or blanks.
    static func normalizedLines(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
                previousCR = true
                continue
            }
            if scalar == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            scalars.append(scalar)
        }
        while let last = scalars.last, last == "\n" || last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }

    /// `<a@x> <b@x>` → `["<a@x>", "<b@x>"]`; a bare id without brackets is kept whole.
    static func messageIDs(_ value: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            ids.append(String(rest[open...close]))
            rest = rest[rest.index(after: close)...]
        }
        if ids.isEmpty {
            let bare = value.trimmingWhitespace()
            if !bare.isEmpty, !bare.contains(" ") { ids.append(bare) }
        }
        return ids
    }
}

/// Walks the MIME tree: multiparts (nested, to a depth of 32), leaves decoded from their
/// transfer encoding and charset. The first inline text/plain and text/html are the text
/// (further inline text/plain parts are appended); everything else is an attachment.
private struct MIMEWalker {
    var plain: String?
    var html: String?
    var attachments: [MailAttachment] = []

    mutating func walk(entity: ArraySlice<UInt8>, headers: MailHeaders, bodyStart: Int, depth: Int, defaultType: String) {
        let body = entity[min(bodyStart, entity.endIndex)...]
        let contentType = headers.field("Content-Type").map { HeaderParameters($0.raw) }
        var type = contentType?.value ?? defaultType
        if !type.contains("/") { type = "text/plain" }
        let parameters = contentType?.parameters ?? [:]

        if type.hasPrefix("multipart/"), depth < 32, let boundary = parameters["boundary"], !boundary.isEmpty {
            let parts = MultipartSplitter.parts(of: body, boundary: Array(boundary.utf8))
            if !parts.isEmpty {
                let childDefault = type == "multipart/digest" ? "message/rfc822" : "text/plain"
                for part in parts {
                    let (partHeaders, partBodyStart) = MailHeaders.parse(part)
                    walk(entity: part, headers: partHeaders, bodyStart: partBodyStart, depth: depth + 1, defaultType: childDefault)
                }
                return
            }
            // No boundary line at all: read the body as text.
            type = "text/plain"
        } else if type.hasPrefix("multipart/") {
            type = "text/plain"
        }

        let disposition = headers.field("Content-Disposition").map { HeaderParameters($0.raw) }
        let filename = disposition?.parameters["filename"] ?? parameters["name"]
        let isAttachment = disposition?.value == "attachment" || (filename != nil && !type.hasPrefix("text/"))
        let data = Self.decodeTransfer(body, encoding: headers["Content-Transfer-Encoding"])

        if !isAttachment, type == "text/plain" {
            let text = Self.flowed(Charset.decode(data, charset: parameters["charset"]), parameters: parameters)
            plain = plain.map { $0 + "\n" + text } ?? text
        } else if !isAttachment, type == "text/html", html == nil {
            html = Charset.decode(data, charset: parameters["charset"])
        } else {
            let contentID = headers["Content-ID"].map { $0.trimmingWhitespace().trimmingAngles() }
            attachments.append(MailAttachment(filename: filename, contentType: type, contentID: contentID,
                                              isInline: disposition?.value == "inline", data: data))
        }
    }

    static func decodeTransfer(_ body: ArraySlice<UInt8>, encoding: String?) -> [UInt8] {
        switch encoding?.trimmingWhitespace().lowercased() {
        case "base64": Base64.decode(body)
        case "quoted-printable": QuotedPrintable.decode(body)
        default: Array(body)
        }
    }

    /// format=flowed (RFC 3676): a line ending in a space continues on the next one.
    static func flowed(_ text: String, parameters: [String: String]) -> String {
        guard parameters["format"]?.lowercased() == "flowed" else { return text }
        let deleteSpace = parameters["delsp"]?.lowercased() == "yes"
        var result = ""
        for line in MailMessage.normalizedLines(text).split(separator: "\n", omittingEmptySubsequences: false) {
            var line = line
            if line.hasPrefix(" ") { line = line.dropFirst() }  // space-stuffing
            if line.hasSuffix(" "), line != "-- " {
                result += deleteSpace ? line.dropLast() : line
            } else {
                result += line + "\n"
            }
        }
        return result.hasSuffix("\n") ? String(result.dropLast()) : result
    }
}

/// The parts of a multipart body between `--boundary` lines; the preamble and epilogue are
/// dropped. A body cut short (no closing `--boundary--`) ends its last part at the end.
enum MultipartSplitter {
    static func parts(of body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let delimiter = [UInt8(ascii: "-"), UInt8(ascii: "-")] + boundary
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            let lineFeed = MailHeaders.nextLineFeed(in: body, from: lineStart)
            let lineEnd = lineFeed ?? body.endIndex
            if lineEnd - lineStart >= delimiter.count, body[lineStart..<(lineStart + delimiter.count)].elementsEqual(delimiter) {
                let after = lineStart + delimiter.count
                let closing = after + 1 < body.endIndex && body[after] == UInt8(ascii: "-") && body[after + 1] == UInt8(ascii: "-")
                // Only blanks may follow a delimiter (a longer boundary that starts the same is not ours).
                let rest = body[(closing ? after + 2 : after)..<lineEnd]
                if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    if let start = partStart {
                        // The line break before the delimiter belongs to the delimiter.
                        var end = lineStart
                        if end > start, body[end - 1] == 0x0A { end -= 1 }
                        if end > start, body[end - 1] == 0x0D { end -= 1 }
                        parts.append(body[start..<max(start, end)])
                    }
                    if closing { return parts }
                    partStart = lineFeed.map { $0 + 1 } ?? body.endIndex
                }
            }
            guard let lineFeed else { break }
            lineStart = lineFeed + 1
        }
        if let start = partStart, start < body.endIndex { parts.append(body[start...]) }
        return parts
    }
}

extension String {
    func trimmingAngles() -> String {
        var text = Substring(self)
        if text.hasPrefix("<") { text = text.dropFirst() }
        if text.hasSuffix(">") { text = text.dropLast() }
        return String(text)
    }
}
