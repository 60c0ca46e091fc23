#!/usr/bin/python3 -BI
"""email_read: one message by UID: decoded headers, the plain-text body (HTML turned into text
when there is no plain part), the attachment list and, on request, the attachments saved into
the workspace. Fetched with BODY.PEEK[]: the message is marked as seen only with markSeen."""

import email
import email.policy
import mimetypes
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "email_runtime"))
import persona_email as pe  # noqa: E402
from persona_email import fail  # noqa: E402

MAX_CHARS = 200_000
MAX_DEPTH = 30


def fix(text):
    """compat32 keeps undecodable header bytes as surrogates: back to bytes, then UTF-8 with
    replacement characters."""
    if not isinstance(text, str):
        return ""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def charset_of(part):
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return fix(charset) if charset else "utf-8"


def payload_bytes(part):
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encodings
        data = None
    if data is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            data = raw.encode("utf-8", "surrogateescape")
        else:
            data = b""
    return data


class Walker:
    def __init__(self):
        self.texts = []
        self.htmls = []
        self.attachments = []  # dicts; "data" removed before output

    def walk(self, part, depth=0):
        if depth > MAX_DEPTH:
            return
        try:
            ctype = part.get_content_type().lower()
        except Exception:  # noqa: BLE001
            ctype = "text/plain"
        try:
            disposition = (part.get_content_disposition() or "").lower()
        except Exception:  # noqa: BLE001
            disposition = ""
        try:
            name = pe.decode_words(fix(part.get_filename() or ""))
        except Exception:  # noqa: BLE001 - e.g. RFC 2231 values that do not parse
            name = ""
        if part.is_multipart():
            children = part.get_payload()
            if ctype == "message/rfc822" and disposition == "attachment" and children:
                try:
                    data = children[0].as_bytes(policy=email.policy.compat32)
                except Exception:  # noqa: BLE001
                    data = b""
                subject = pe.decode_words(fix(children[0].get("subject", "") or "")) if children else ""
                self.add_attachment(name or (subject or "message") + ".eml", ctype, disposition, data, part)
                return
            for child in children if isinstance(children, list) else []:
                self.walk(child, depth + 1)
            return
        data = payload_bytes(part)
        if ctype.startswith("multipart/") or ctype == "message/rfc822":
            # A multipart whose boundary is missing (or a message part that did not parse):
            # its raw content is the best text there is.
            self.texts.append(pe.decode_bytes(data, charset_of(part)))
            return
        if pe.is_attachment(ctype, disposition, name):
            self.add_attachment(name, ctype, disposition, data, part)
        elif ctype == "text/html":
            self.htmls.append(pe.decode_bytes(data, charset_of(part)))
        else:
            self.texts.append(pe.decode_bytes(data, charset_of(part)))

    def add_attachment(self, name, ctype, disposition, data, part):
        index = len(self.attachments) + 1
        entry = {"index": index, "name": name, "contentType": ctype, "size": len(data),
                 "inline": disposition == "inline", "data": data}
        content_id = fix(part.get("content-id", "") or "").strip()
        if content_id:
            entry["contentId"] = content_id
        self.attachments.append(entry)


def cap(text, limit):
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        return text[:limit], True
    return text, False


def run(arguments):
    connector = pe.connector_for(arguments)
    folder = pe.arg_str(arguments, "folder", max_length=1000) or connector.folder("inbox")
    uid = pe.arg_int(arguments, "uid", None, 1, 4294967295)
    if uid is None:
        fail("invalid_arguments", "uid is required (from email_list)")
    include_html = pe.arg_bool(arguments, "includeHtml")
    mark_seen = pe.arg_bool(arguments, "markSeen")
    save = pe.arg_bool(arguments, "saveAttachments")
    limit = pe.arg_int(arguments, "maxChars", MAX_CHARS, 100, MAX_CHARS)
    directory = None
    if save:
        directory_arg = pe.arg_str(arguments, "attachmentsDir", max_length=1024) or f"mail/{uid}"
        pe.check_relative(directory_arg, "attachmentsDir")
    elif arguments.get("attachmentsDir") is not None:
        fail("invalid_arguments", "attachmentsDir is only used with saveAttachments: true")

    imap = pe.IMAP(connector)
    try:
        imap.select(folder, readonly=not mark_seen)
        fetched = imap.fetch([uid], "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
        values = fetched.get(uid)
        if not values or not isinstance(values.get("BODY[]"), bytes):
            fail("not_found", f"there is no message with UID {uid} in {folder!r} (moved or deleted? list the folder again)")
        flags = [f for f in values.get("FLAGS") or [] if isinstance(f, str) and f != "\\Recent"]
        if mark_seen and "\\Seen" not in flags:
            imap.uid("marking the message as seen", "STORE", str(uid), "+FLAGS.SILENT", "(\\Seen)")
            flags.append("\\Seen")
        uid_validity = imap.uid_validity
    finally:
        imap.logout()

    raw = values["BODY[]"]
    header_block = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    headers = pe.parse_header_block(header_block)
    first = lambda name: (headers.get(name) or [""])[0]  # noqa: E731
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    walker = Walker()
    walker.walk(message)

    if walker.texts and any(t.strip() for t in walker.texts):
        body, body_format = "\n\n".join(t.strip("\r\n") for t in walker.texts if t.strip()), "text/plain"
    elif walker.htmls:
        body, body_format = pe.html_to_text("\n".join(walker.htmls)), "text/html"
    else:
        body, body_format = "", "none"
    text, truncated = cap(body, limit)
    from_ = pe.addresses(headers.get("from"))
    ids = pe.message_ids(first("message-id"))
    result = {
        "connector": connector.label(),
        "folder": folder,
        "uid": uid,
        "uidValidity": uid_validity,
        "messageId": ids[0] if ids else (first("message-id") or None),
        "inReplyTo": (pe.message_ids(first("in-reply-to")) or [None])[0],
        "references": pe.message_ids(" ".join(headers.get("references") or [])),
        "from": from_[0] if from_ else "",
        "replyTo": pe.addresses(headers.get("reply-to")),
        "to": pe.addresses(headers.get("to")),
        "cc": pe.addresses(headers.get("cc")),
        "subject": pe.decode_words(first("subject")),
        "date": pe.iso_date(first("date"), pe.internal_date(values.get("INTERNALDATE"))),
        "flags": flags,
        "size": values.get("RFC822.SIZE") if isinstance(values.get("RFC822.SIZE"), int) else len(raw),
        "bodyFormat": body_format,
        "text": text,
        "truncated": truncated,
        "markedSeen": mark_seen,
    }
    bcc = pe.addresses(headers.get("bcc"))
    if bcc:
        result["bcc"] = bcc
    if include_html:
        html, html_truncated = cap("\n".join(walker.htmls), limit)
        result["html"] = html if walker.htmls else None
        result["htmlTruncated"] = html_truncated
    if save and walker.attachments:
        directory = pe.output_directory(directory_arg)
        for entry in walker.attachments:
            extension = mimetypes.guess_extension(entry["contentType"]) or ".bin"
            name = pe.safe_filename(entry["name"], f"attachment-{entry['index']}{extension}")
            try:
                path = pe.write_file(directory, name, entry["data"])
            except OSError as error:
                fail("invalid_path", f"cannot save {name!r} into the workspace: {error.strerror}")
            entry["path"] = pe.relative(path)
    for entry in walker.attachments:
        entry.pop("data", None)
        if not entry["name"]:
            entry["name"] = f"(unnamed {entry['contentType']})"
    result["attachments"] = walker.attachments
    if save:
        result["savedTo"] = pe.relative(directory) if directory else None
        result["saved"] = [e["path"] for e in walker.attachments if "path" in e]
    return result


if __name__ == "__main__":
    sys.exit(pe.main(run))
