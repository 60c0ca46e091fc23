#!/usr/bin/python3 -BI
"""email_send: compose and send a message through the connector's SMTP server (STARTTLS or TLS
and AUTH), then save a copy in its Sent folder over IMAP (best effort, reported).

Everything that can be checked locally is checked before connecting: addresses, the recipient
count, attachment count and sizes, and the finished message's size against the connector's
limits. With replyToUid the original's Message-ID, References, subject and sender are fetched
first and fill In-Reply-To, References, "Re: ..." and the default recipient; after sending, the
original is flagged \\Answered."""

import email.policy
import imaplib
import mimetypes
import os
import re
import smtplib
import sys
import time
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "email_runtime"))
import persona_email as pe  # noqa: E402
from persona_email import fail  # noqa: E402

MAX_SUBJECT = 998
MAX_BODY = 5_000_000  # characters of text or HTML
LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]+$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([^\s@.\"(),:;<>\[\]\\]{1,63})(\.[^\s@.\"(),:;<>\[\]\\]{1,63})+$")


def recipient_list(arguments, name):
    value = arguments.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        fail("invalid_arguments", f"{name} must be an array of email addresses")
    out = []
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            fail("invalid_arguments", f"{name} holds an empty or non-string address")
        out.append(parse_address(entry.strip(), name))
    return out


def parse_address(text, where):
    if "\r" in text or "\n" in text or len(text) > 512:
        fail("invalid_arguments", f"invalid address in {where}: {text[:80]!r}")
    name, addr = parseaddr(text)
    if not addr or "@" not in addr:
        fail("invalid_arguments", f"invalid address in {where}: {text!r} (expected name@domain or \"Name <name@domain>\")")
    local, _, domain = addr.rpartition("@")
    if not LOCAL.match(local) or not DOMAIN.match(domain) or ".." in local or local.startswith(".") or local.endswith("."):
        fail("invalid_arguments", f"invalid address in {where}: {addr!r}")
    return name.strip(), addr


def header_address(name, addr):
    local, _, domain = addr.rpartition("@")
    try:
        return Address(display_name=name, username=local, domain=domain)
    except Exception:  # noqa: BLE001
        fail("invalid_arguments", f"invalid address {addr!r}")


def references_arg(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail("invalid_arguments", "references must be an array of Message-IDs")
    return [message_id(v, "references") for v in value if v.strip()]


def message_id(value, what):
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    if not re.fullmatch(r"<[^<>\s]{1,900}>", value):
        fail("invalid_arguments", f"{what} must be a Message-ID like <abc@example.com>, not {value[:80]!r}")
    return value


def original_headers(connector, folder, uid):
    imap = pe.IMAP(connector)
    try:
        imap.select(folder, readonly=True)
        fetched = imap.fetch([uid], "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID REFERENCES IN-REPLY-TO SUBJECT FROM REPLY-TO)])")
    finally:
        imap.logout()
    values = fetched.get(uid)
    if not values:
        fail("not_found", f"there is no message with UID {uid} in {folder!r} to reply to")
    key = next((k for k in values if k.startswith("BODY[HEADER")), None)
    return pe.parse_header_block(values.get(key) or b"")


def attachment_files(arguments, limits):
    paths = arguments.get("attachments") or []
    if not isinstance(paths, list):
        fail("invalid_arguments", "attachments must be an array of workspace paths")
    if len(paths) > limits["maxAttachments"]:
        fail("too_large", f"{len(paths)} attachments; this connector allows at most {limits['maxAttachments']}")
    files = []
    for path in paths:
        real, size = pe.input_file(path, "attachment")
        if size > limits["maxAttachmentBytes"]:
            fail("too_large", f"attachment {path} is {size} bytes; this connector allows {limits['maxAttachmentBytes']} bytes per attachment")
        files.append((path, real, size))
    total = sum(size for _, _, size in files)
    if total * 4 // 3 > limits["maxMessageBytes"]:
        fail("too_large", f"the attachments come to {total} bytes ({total * 4 // 3} once encoded); this connector's "
                          f"message limit is {limits['maxMessageBytes']} bytes")
    return files


def run(arguments):
    connector = pe.connector_for(arguments)
    limits = connector.limits
    if connector.smtp is None:
        fail("invalid_connector", f"the connector {connector.label()!r} has no SMTP settings; it cannot send")
    from_address = connector.from_address or (connector.smtp.username if "@" in connector.smtp.username else "")
    if not from_address:
        fail("invalid_connector", f"the connector {connector.label()!r} has no fromAddress")
    from_name, from_addr = parse_address(from_address, "the connector's fromAddress")
    from_name = connector.from_name or from_name

    to = recipient_list(arguments, "to")
    cc = recipient_list(arguments, "cc")
    bcc = recipient_list(arguments, "bcc")
    subject = pe.arg_str(arguments, "subject", max_length=MAX_SUBJECT)
    text = pe.arg_str(arguments, "text", max_length=MAX_BODY)
    html = pe.arg_str(arguments, "html", max_length=MAX_BODY)
    if not (text and text.strip()) and not (html and html.strip()):
        fail("invalid_arguments", "give text and/or html: the message needs a body")
    in_reply_to = arguments.get("inReplyTo")
    if in_reply_to is not None:
        if not isinstance(in_reply_to, str):
            fail("invalid_arguments", "inReplyTo must be a Message-ID string")
        in_reply_to = message_id(in_reply_to, "inReplyTo")
    references = references_arg(arguments.get("references"))
    reply_uid = pe.arg_int(arguments, "replyToUid", None, 1, 4294967295)
    folder = pe.arg_str(arguments, "folder", max_length=1000) or connector.folder("inbox")
    save_to_sent = pe.arg_bool(arguments, "saveToSent", True)
    files = attachment_files(arguments, limits)
    if not reply_uid and not to and not cc and not bcc:
        fail("invalid_arguments", "give at least one recipient in to, cc or bcc")
    if len({a.lower() for _, a in to + cc + bcc}) > limits["maxRecipients"]:
        fail("too_large", f"{len(to + cc + bcc)} recipients; this connector allows at most {limits['maxRecipients']} per message")

    if reply_uid:
        original = original_headers(connector, folder, reply_uid)
        first = lambda name: (original.get(name) or [""])[0]  # noqa: E731
        original_id = (pe.message_ids(first("message-id")) or [None])[0]
        if in_reply_to is None and original_id:
            in_reply_to = original_id
        if not references:
            chain = pe.message_ids(" ".join(original.get("references") or [])) or pe.message_ids(first("in-reply-to"))
            references = (chain + ([original_id] if original_id else []))[-30:]
        if subject is None:
            original_subject = pe.decode_words(first("subject"))
            subject = original_subject if re.match(r"(?i)^\s*(re|aw|sv|antw)\s*:", original_subject) else f"Re: {original_subject}".strip()
        if not to and not cc and not bcc:
            for entry in pe.addresses(original.get("reply-to")) or pe.addresses(original.get("from")):
                try:
                    to.append(parse_address(entry, "the original's sender"))
                except pe.ToolError:
                    pass
            if not to:
                fail("invalid_arguments", f"the message with UID {reply_uid} has no usable sender address; give to")
    if in_reply_to and not references:
        references = [in_reply_to]
    subject = (subject or "").replace("\r", " ").replace("\n", " ")
    recipients = []
    for _, addr in to + cc + bcc:
        if addr.lower() not in {r.lower() for r in recipients}:
            recipients.append(addr)
    if len(recipients) > limits["maxRecipients"]:
        fail("too_large", f"{len(recipients)} recipients; this connector allows at most {limits['maxRecipients']} per message")

    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = header_address(from_name, from_addr)
    if to:
        message["To"] = [header_address(n, a) for n, a in to]
    if cc:
        message["Cc"] = [header_address(n, a) for n, a in cc]
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    domain = from_addr.rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=domain)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    if text and text.strip():
        message.set_content(text)
        if html and html.strip():
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(pe.html_to_text(html) or " ")
        message.add_alternative(html, subtype="html")
    attached = []
    for path, real, size in files:
        with open(real, "rb") as handle:
            data = handle.read()
        ctype = mimetypes.guess_type(real)[0] or "application/octet-stream"
        maintype, _, subtype = ctype.partition("/")
        name = os.path.basename(real)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        attached.append({"path": path, "name": name, "contentType": ctype, "size": len(data)})
    wire = message.as_bytes()
    if len(wire) > limits["maxMessageBytes"]:
        fail("too_large", f"the message is {len(wire)} bytes; this connector's limit is {limits['maxMessageBytes']} bytes")
    if bcc:
        message["Bcc"] = [header_address(n, a) for n, a in bcc]  # the Sent copy only
    options = []
    non_ascii = any(not a.isascii() for a in recipients + [from_addr])

    smtp = pe.SMTP(connector)
    try:
        if non_ascii:
            if not smtp.conn.has_extn("smtputf8"):
                fail("invalid_arguments", "an address has non-ASCII characters and the SMTP server does not support SMTPUTF8")
            options.append("SMTPUTF8")
        try:
            refused = smtp.conn.sendmail(from_addr, recipients, wire, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            reasons = "; ".join(f"{addr}: {code} {pe._text(text)}" for addr, (code, text) in error.recipients.items())
            fail("recipients_rejected", f"the SMTP server refused every recipient, nothing was sent: {reasons}")
        except smtplib.SMTPSenderRefused as error:
            if error.smtp_code == 552:
                fail("too_large", f"the SMTP server refused the message's size: {error.smtp_code} {pe._text(error.smtp_error)}")
            fail("server_error", f"the SMTP server refused the sender {from_addr}: {error.smtp_code} {pe._text(error.smtp_error)}")
        except smtplib.SMTPDataError as error:
            if error.smtp_code == 552:
                fail("too_large", f"the SMTP server refused the message's size: {error.smtp_code} {pe._text(error.smtp_error)}")
            fail("server_error", f"the SMTP server refused the message: {error.smtp_code} {pe._text(error.smtp_error)}")
        except pe.ToolError:
            raise
        except Exception as error:  # noqa: BLE001
            raise pe.classify(error, connector.smtp, "sending") from None
    finally:
        smtp.close()
    rejected = {addr: f"{code} {pe._text(text)}" for addr, (code, text) in (refused or {}).items()}
    accepted = [r for r in recipients if r not in rejected]

    result = {
        "connector": connector.label(),
        "messageId": message["Message-ID"],
        "from": str(message["From"]),
        "to": [a for _, a in to],
        "cc": [a for _, a in cc],
        "bcc": [a for _, a in bcc],
        "subject": subject,
        "size": len(wire),
        "attachments": attached,
        "accepted": accepted,
        "rejected": rejected,
        "inReplyTo": in_reply_to,
        "savedToSent": False,
        "sentFolder": connector.folder("sent") if save_to_sent else None,
    }
    if save_to_sent or reply_uid:
        result.update(after_send(connector, message, save_to_sent, folder, reply_uid))
    return result


def after_send(connector, message, save_to_sent, folder, reply_uid):
    """Best effort, the message is already sent: the Sent copy and the original's \\Answered."""
    out = {}
    try:
        imap = pe.IMAP(connector)
    except pe.ToolError as error:
        if save_to_sent:
            out["sentError"] = f"{error.code}: {error.message}"
        if reply_uid:
            out["answeredFlagSet"] = False
        return out
    try:
        if save_to_sent:
            sent = connector.folder("sent")
            try:
                typ, data = imap.run("saving to Sent", "append", pe.quote_mailbox(sent), "(\\Seen)",
                                     imaplib.Time2Internaldate(time.time()), message.as_bytes())
                out["savedToSent"] = typ == "OK"
                if typ != "OK":
                    out["sentError"] = f"the IMAP server refused to save into {sent!r}: {pe._text(data)}"
            except pe.ToolError as error:
                out["sentError"] = f"{error.code}: {error.message}"
        if reply_uid:
            try:
                imap.select(folder, readonly=False)
                imap.uid("flagging the original", "STORE", str(reply_uid), "+FLAGS.SILENT", "(\\Answered)")
                out["answeredFlagSet"] = True
            except pe.ToolError:
                out["answeredFlagSet"] = False
    finally:
        imap.logout()
    return out


if __name__ == "__main__":
    sys.exit(pe.main(run))
