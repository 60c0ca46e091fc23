#!/usr/bin/python3 -BI
"""email_list: envelopes of a folder's messages, newest first, paged by UID.

One UID SEARCH (the filters), then one UID FETCH of the page's UIDs for flags, size, arrival
date, the structure (attachment names) and a few header fields; nothing is marked as seen.
"""

import os
import re
import sys
from datetime import date, datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "email_runtime"))
import persona_email as pe  # noqa: E402
from persona_email import fail  # noqa: E402

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
HEADER_FIELDS = "FROM TO CC SUBJECT DATE MESSAGE-ID"


def parse_since(value):
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        fail("invalid_arguments", f"since must be an ISO 8601 date like 2026-03-01 (or a date and time), not {value!r}")


def envelope(uid, values):
    header_key = next((k for k in values if k.startswith("BODY[HEADER")), None)
    raw = values.get(header_key) if header_key else b""
    headers = pe.parse_header_block(raw if isinstance(raw, (bytes, str)) else b"")
    first = lambda name: (headers.get(name) or [""])[0]  # noqa: E731
    arrived = pe.internal_date(values.get("INTERNALDATE"))
    attachments = []
    try:
        for name, ctype, _size in pe.structure_attachments(values.get("BODYSTRUCTURE")):
            attachments.append(name or f"(unnamed {ctype})")
    except Exception:  # noqa: BLE001 - a strange structure must not lose the message
        pass
    flags = values.get("FLAGS") if isinstance(values.get("FLAGS"), list) else []
    flags = [f for f in flags if isinstance(f, str) and f != "\\Recent"]
    from_ = pe.addresses(headers.get("from"))
    ids = pe.message_ids(first("message-id"))
    return {
        "uid": uid,
        "from": from_[0] if from_ else "",
        "to": pe.addresses(headers.get("to")),
        "cc": pe.addresses(headers.get("cc")),
        "subject": pe.decode_words(first("subject")),
        "date": pe.iso_date(first("date"), arrived),
        "flags": flags,
        "seen": "\\Seen" in flags,
        "size": values.get("RFC822.SIZE") if isinstance(values.get("RFC822.SIZE"), int) else None,
        "attachments": attachments,
        "messageId": ids[0] if ids else (first("message-id") or None),
    }


def run(arguments):
    connector = pe.connector_for(arguments)
    folder = pe.arg_str(arguments, "folder", max_length=1000) or connector.folder("inbox")
    limit = pe.arg_int(arguments, "limit", 20, 1, 200)
    cursor = pe.arg_int(arguments, "cursor", None, 1, 4294967295)
    criteria = []
    if pe.arg_bool(arguments, "unseenOnly"):
        criteria.append("UNSEEN")
    since = pe.arg_str(arguments, "since", max_length=64)
    if since:
        day = parse_since(since.strip())
        criteria.append(f"SINCE {day.day:02d}-{MONTHS[day.month - 1]}-{day.year}")
    for key, name in (("fromContains", "FROM"), ("subjectContains", "SUBJECT")):
        text = pe.arg_str(arguments, key, max_length=500)
        if text:
            criteria.append((name, text.replace("\r", " ").replace("\n", " ")))
    if cursor is not None:
        if cursor <= 1:
            criteria = None
        else:
            criteria.append(f"UID 1:{cursor - 1}")
    list_folders = pe.arg_bool(arguments, "listFolders")

    imap = pe.IMAP(connector)
    try:
        folders = imap.folders() if list_folders else None
        total = imap.select(folder)
        uids = imap.search(criteria) if total and criteria is not None else []
        if cursor is not None:
            uids = [u for u in uids if u < cursor]
        uids.sort(reverse=True)
        page = uids[:limit]
        fetched = imap.fetch(page, f"(UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])")
        messages = [envelope(uid, fetched[uid]) for uid in page if uid in fetched]
        result = {
            "connector": connector.label(),
            "folder": folder,
            "uidValidity": imap.uid_validity,
            "total": total,
            "matched": len(uids),
            "messages": messages,
            "nextCursor": page[-1] if len(uids) > len(page) and page else None,
        }
        if folders is not None:
            result["folders"] = folders
        return result
    finally:
        imap.logout()


if __name__ == "__main__":
    sys.exit(pe.main(run))
