#!/usr/bin/python3 -BI
"""email_flag: add and/or remove flags on messages (by UID): the system flags \\Seen, \\Flagged,
\\Answered, \\Deleted, \\Draft (with or without the backslash, any case) and keywords."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "email_runtime"))
import persona_email as pe  # noqa: E402
from persona_email import fail  # noqa: E402

SYSTEM = {"seen": "\\Seen", "flagged": "\\Flagged", "answered": "\\Answered", "deleted": "\\Deleted", "draft": "\\Draft"}
KEYWORD = re.compile(r"^[$A-Za-z0-9_.\-+]{1,100}$")


def flag_list(arguments, name):
    value = arguments.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        fail("invalid_arguments", f"{name} must be an array of flags")
    out = []
    for flag in value:
        if not isinstance(flag, str) or not flag.strip():
            fail("invalid_arguments", f"{name} holds an empty or non-string flag")
        flag = flag.strip()
        key = flag.lstrip("\\").lower()
        if key in SYSTEM:
            flag = SYSTEM[key]
        elif flag.startswith("\\"):
            fail("invalid_arguments", f"{flag} is not a flag that can be set; use \\Seen, \\Flagged, \\Answered, \\Deleted, \\Draft or a keyword")
        elif not KEYWORD.match(flag):
            fail("invalid_arguments", f"keyword {flag!r} may only hold letters, digits and $ _ . - +")
        if flag not in out:
            out.append(flag)
    return out


def run(arguments):
    connector = pe.connector_for(arguments)
    folder = pe.arg_str(arguments, "folder", max_length=1000) or connector.folder("inbox")
    uids = pe.arg_uids(arguments)
    add = flag_list(arguments, "add")
    remove = flag_list(arguments, "remove")
    if not add and not remove:
        fail("invalid_arguments", "give flags to add and/or remove")
    both = set(add) & set(remove)
    if both:
        fail("invalid_arguments", f"{', '.join(sorted(both))} cannot be added and removed at once")

    imap = pe.IMAP(connector)
    try:
        imap.select(folder, readonly=False)
        present = [u for u in imap.search([f"UID {pe.uid_set(uids)}"]) if u in set(uids)]
        missing = [u for u in uids if u not in set(present)]
        if not present:
            fail("not_found", f"none of the UIDs {uids} is in {folder!r} (moved or deleted? list the folder again)")
        selection = pe.uid_set(present)
        if add:
            imap.uid("adding flags", "STORE", selection, "+FLAGS.SILENT", f"({' '.join(add)})")
        if remove:
            imap.uid("removing flags", "STORE", selection, "-FLAGS.SILENT", f"({' '.join(remove)})")
        fetched = imap.fetch(present, "(UID FLAGS)")
        result = {
            "connector": connector.label(),
            "folder": folder,
            "added": add,
            "removed": remove,
            "messages": [{"uid": uid, "flags": [f for f in fetched.get(uid, {}).get("FLAGS") or [] if f != "\\Recent"]}
                         for uid in present],
            "missing": missing,
        }
        if "\\Deleted" in add:
            result["note"] = ("\\Deleted only marks the messages; they stay in the folder until it is expunged. "
                              "To delete, email_move them to the trash folder instead.")
        return result
    finally:
        imap.logout()


if __name__ == "__main__":
    sys.exit(pe.main(run))
