#!/usr/bin/python3 -BI
"""email_move: move messages (by UID) from one folder to another: UID MOVE when the server has
MOVE, else UID COPY + \\Deleted + UID EXPUNGE (only those messages; plain EXPUNGE without UIDPLUS)."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "email_runtime"))
import persona_email as pe  # noqa: E402
from persona_email import fail  # noqa: E402


def expand(uid_set):
    out = []
    for piece in uid_set.split(","):
        low, _, high = piece.partition(":")
        if low.isdigit() and (not high or high.isdigit()):
            low, high = int(low), int(high or low)
            out += list(range(min(low, high), max(low, high) + 1))
    return out


def copyuid(texts):
    """{old uid: new uid} from a COPYUID response code."""
    for text in texts:
        match = re.search(r"(?:COPYUID\s+)?(\d+)\s+([\d:,]+)\s+([\d:,]+)", pe._text(text))
        if match:
            old, new = expand(match.group(2)), expand(match.group(3))
            if len(old) == len(new):
                return dict(zip(old, new))
    return {}


def run(arguments):
    connector = pe.connector_for(arguments)
    source = pe.arg_str(arguments, "folder", max_length=1000) or connector.folder("inbox")
    target = pe.arg_str(arguments, "to", max_length=1000, required=True).strip()
    if not target:
        fail("invalid_arguments", "to must name a folder")
    if target.lower() in pe.DEFAULT_FOLDERS:  # inbox, sent, archive, trash: the connector's folder
        target = connector.folder(target.lower())
    uids = pe.arg_uids(arguments)
    if target == source:
        fail("invalid_arguments", f"the messages are already in {source!r}")

    imap = pe.IMAP(connector)
    try:
        if not imap.folder_exists(target):
            fail("not_found", f"there is no folder {target!r} (email_list with listFolders: true shows the folders)")
        imap.select(source, readonly=False)
        present = imap.search([f"UID {pe.uid_set(uids)}"])
        present = [u for u in present if u in set(uids)]
        missing = [u for u in uids if u not in set(present)]
        if not present:
            fail("not_found", f"none of the UIDs {uids} is in {source!r} (moved or deleted already? list the folder again)")
        selection = pe.uid_set(present)
        imap.conn.untagged_responses.pop("COPYUID", None)
        if "MOVE" in imap.capabilities():
            method = "MOVE"
            typ, data = imap.run("moving messages", "uid", "MOVE", selection, pe.quote_mailbox(target))
            if typ != "OK":
                fail("server_error", f"the IMAP server refused to move the messages: {pe._text(data)}")
            mapping = copyuid(imap.conn.untagged_responses.pop("COPYUID", []))
        else:
            method = "COPY+EXPUNGE"
            typ, data = imap.run("copying messages", "uid", "COPY", selection, pe.quote_mailbox(target))
            if typ != "OK":
                fail("server_error", f"the IMAP server refused to copy the messages: {pe._text(data)}")
            mapping = copyuid(list(data) + imap.conn.untagged_responses.pop("COPYUID", []))
            imap.uid("marking the originals deleted", "STORE", selection, "+FLAGS.SILENT", "(\\Deleted)")
            if "UIDPLUS" in imap.capabilities():
                imap.uid("expunging the originals", "EXPUNGE", selection)
            else:
                method = "COPY+EXPUNGE (whole folder: no UIDPLUS)"
                typ, data = imap.run("expunging", "expunge")
        return {
            "connector": connector.label(),
            "from": source,
            "to": target,
            "moved": present,
            "missing": missing,
            "newUids": {str(k): v for k, v in mapping.items()},
            "method": method,
        }
    finally:
        imap.logout()


if __name__ == "__main__":
    sys.exit(pe.main(run))
