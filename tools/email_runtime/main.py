#!/usr/bin/python3 -BI
"""email_runtime: diagnoses the email tools' runtime: Python and OpenSSL versions, and the
persona's email connectors as the tools see them (no passwords). With check: true it also
connects and logs in to each connector's IMAP and SMTP servers and reports ok or the error code
(auth_failed, tls_failed, unreachable, timeout, ...), sending nothing."""

import os
import platform
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import persona_email as pe  # noqa: E402


def check(connector):
    out = {}
    try:
        imap = pe.IMAP(connector)
        capabilities = sorted(imap.capabilities())
        imap.logout()
        out["imap"] = {"status": "ok", "capabilities": capabilities}
    except pe.ToolError as error:
        out["imap"] = {"status": error.code, "message": error.message}
    if connector.smtp is None:
        out["smtp"] = {"status": "not_configured"}
        return out
    try:
        smtp = pe.SMTP(connector)
        extensions = sorted(smtp.conn.esmtp_features)
        smtp.close()
        out["smtp"] = {"status": "ok", "extensions": extensions}
    except pe.ToolError as error:
        out["smtp"] = {"status": error.code, "message": error.message}
    return out


def run(arguments):
    do_check = pe.arg_bool(arguments, "check")
    items = pe.load_connectors()
    connectors = []
    problems = []
    for item in items:
        try:
            connectors.append(pe.Connector(item))
        except pe.ToolError as error:
            problems.append({"connector": str(item.get("name") or item.get("id") or "?"), "error": error.message})
    wanted = arguments.get("connector")
    if wanted is not None:
        connectors = [pe.connector_for(arguments)]
    result = {
        "ok": not problems,
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "connectorsConfigured": len(items),
        "connectors": [c.describe() for c in connectors],
        "limits": {"connectTimeoutSeconds": pe.CONNECT_TIMEOUT, "ioTimeoutSeconds": pe.IO_TIMEOUT},
    }
    if problems:
        result["problems"] = problems
    if do_check:
        for entry, connector in zip(result["connectors"], connectors):
            entry["check"] = check(connector)
    return result


if __name__ == "__main__":
    sys.exit(pe.main(run))
