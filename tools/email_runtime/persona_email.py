"""Shared by the email tools (email_list, email_read, email_send, email_move, email_flag) and
email_runtime. Python standard library only (/usr/bin/python3, Debian's 3.11).

The tool protocol: one JSON object on stdin, one JSON object on stdout. A failure prints
{"error": "...", "code": "..."} and exits 1.

Credentials arrive only as the environment variable PERSONA_EMAIL_CONNECTORS (the supervisor
puts it into the environment of a tool whose manifest declares it as a secret):

    {"connectors": [{"id": "...", "name": "work",
      "imap": {"host": "...", "port": 993, "security": "tls|starttls|none", "username": "...", "password": "..."},
      "smtp": {"host": "...", "port": 587, "security": "tls|starttls|none", "username": "...", "password": "..."},
      "fromAddress": "a@b", "fromName": "Persona",
      "folders": {"inbox": "INBOX", "sent": "Sent", "archive": "Archive", "trash": "Trash"},
      "caCertificate": "-----BEGIN CERTIFICATE-----..." or null,
      "limits": {"maxMessageBytes": 26214400, "maxAttachments": 20, "maxAttachmentBytes": 20971520, "maxRecipients": 50}}]}

Nothing here prints or returns a password or that variable: every error message and every
traceback written to stderr goes through scrub(), which replaces each password (and the forms a
SASL exchange would carry) with "***".

TLS: certificates are always verified (ssl.create_default_context: the system CAs, plus the
connector's caCertificate when given, and the host name or IP address). `tls` is implicit TLS,
`starttls` upgrades a plain connection (and fails when the server does not offer it), `none`
is plain text.

Error codes: no_connector, connector_required, invalid_connector, auth_failed, tls_failed,
unreachable, timeout, not_found, too_large, invalid_arguments, invalid_path,
path_outside_workspace, server_error, internal_error.
"""

import base64
import binascii
import codecs
import errno
import imaplib
import json
import os
import quopri
import re
import smtplib
import socket
import ssl
import stat
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

CONNECT_TIMEOUT = 20  # seconds to connect, hand-shake and log in
IO_TIMEOUT = 50  # seconds for one read or write once logged in
ENV = "PERSONA_EMAIL_CONNECTORS"
DEFAULT_FOLDERS = {"inbox": "INBOX", "sent": "Sent", "archive": "Archive", "trash": "Trash"}
DEFAULT_LIMITS = {"maxMessageBytes": 25 * 1024 * 1024, "maxAttachments": 20,
                  "maxAttachmentBytes": 20 * 1024 * 1024, "maxRecipients": 50}
SECURITY = ("tls", "starttls", "none")

_SECRETS = []  # strings replaced by *** in everything this process prints


class ToolError(Exception):
    """A failure the caller can act on: printed as {"error": message, "code": code}."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def fail(code, message):
    raise ToolError(code, message)


def add_secret(value):
    if isinstance(value, str) and value and value not in _SECRETS:
        _SECRETS.append(value)
        _SECRETS.sort(key=len, reverse=True)


def scrub(text):
    """`text` with every known secret replaced by ***."""
    text = str(text)
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


# ---------------------------------------------------------------------------------------------
# Tool protocol

def read_arguments():
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        return {}
    try:
        arguments = json.loads(raw)
    except ValueError as error:
        fail("invalid_arguments", f"stdin is not JSON: {error}")
    if not isinstance(arguments, dict):
        fail("invalid_arguments", "the arguments must be a JSON object")
    return arguments


def main(run):
    """Runs `run(arguments) -> dict` as a tool: prints its result, or the error, as JSON."""
    try:
        result = run(read_arguments())
    except ToolError as error:
        print(json.dumps({"error": scrub(error.message), "code": error.code}))
        return 1
    except MemoryError:
        print(json.dumps({"error": "out of memory: make the request smaller", "code": "out_of_memory"}))
        return 1
    except Exception as error:  # noqa: BLE001 - every failure must still print JSON
        sys.stderr.write(scrub(traceback.format_exc()))
        print(json.dumps({"error": scrub(f"{type(error).__name__}: {error}"), "code": "internal_error"}))
        return 1
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    if _SECRETS and scrub(text) != text:  # never hand a password on, whatever a server echoed
        text = scrub(text)
    sys.stdout.buffer.write(text.encode("utf-8", "replace") + b"\n")
    sys.stdout.flush()
    return 0


# ---------------------------------------------------------------------------------------------
# Arguments

def arg_bool(arguments, name, default=False):
    value = arguments.get(name, default)
    if not isinstance(value, bool):
        fail("invalid_arguments", f"{name} must be true or false")
    return value


def arg_int(arguments, name, default, low, high):
    value = arguments.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            fail("invalid_arguments", f"{name} must be an integer")
    if not low <= value <= high:
        fail("invalid_arguments", f"{name} must be between {low} and {high}")
    return value


def arg_str(arguments, name, default=None, max_length=10_000, required=False):
    value = arguments.get(name)
    if value is None:
        if required:
            fail("invalid_arguments", f"{name} is required")
        return default
    if not isinstance(value, str):
        fail("invalid_arguments", f"{name} must be a string")
    if len(value) > max_length:
        fail("invalid_arguments", f"{name} is longer than {max_length} characters")
    return value


def arg_uids(arguments, single="uid", many="uids", limit=1000):
    """A sorted list of distinct UIDs from `uid` and/or `uids`."""
    uids = []
    if arguments.get(single) is not None:
        uids.append(arguments[single])
    if arguments.get(many) is not None:
        if not isinstance(arguments[many], list):
            fail("invalid_arguments", f"{many} must be an array of UIDs")
        uids += arguments[many]
    if not uids:
        fail("invalid_arguments", f"give {single} or {many}")
    for uid in uids:
        if isinstance(uid, bool) or not isinstance(uid, int) or not 1 <= uid <= 4294967295:
            fail("invalid_arguments", f"a UID must be an integer from 1 to 4294967295, not {uid!r}")
    uids = sorted(set(uids))
    if len(uids) > limit:
        fail("invalid_arguments", f"at most {limit} UIDs per call")
    return uids


# ---------------------------------------------------------------------------------------------
# Connectors

class Server:
    def __init__(self, data, what):
        if not isinstance(data, dict):
            fail("invalid_connector", f"the connector has no {what} settings")
        self.what = what
        self.host = data.get("host")
        self.port = data.get("port")
        self.security = data.get("security") or "tls"
        self.username = data.get("username") or ""
        self.password = data.get("password") or ""
        add_secret(self.password)
        if self.password:
            # The forms a SASL exchange carries (PLAIN, LOGIN), in case a server echoes them.
            add_secret(base64.b64encode(self.password.encode()).decode())
            add_secret(base64.b64encode(f"\0{self.username}\0{self.password}".encode()).decode())
        if not isinstance(self.host, str) or not self.host.strip():
            fail("invalid_connector", f"the connector's {what} host is missing")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            fail("invalid_connector", f"the connector's {what} port must be 1-65535")
        if self.security not in SECURITY:
            fail("invalid_connector", f"the connector's {what} security must be tls, starttls or none")
        self.host = self.host.strip()

    def describe(self):
        return {"host": self.host, "port": self.port, "security": self.security, "username": self.username}


class Connector:
    def __init__(self, data):
        self.id = str(data.get("id") or "")
        self.name = str(data.get("name") or "")
        self.imap = Server(data.get("imap"), "IMAP")
        self.smtp = Server(data.get("smtp"), "SMTP") if data.get("smtp") is not None else None
        self.from_address = data.get("fromAddress") or ""
        self.from_name = data.get("fromName") or ""
        folders = data.get("folders") if isinstance(data.get("folders"), dict) else {}
        self.folders = {key: (folders.get(key) or value) for key, value in DEFAULT_FOLDERS.items()}
        limits = data.get("limits") if isinstance(data.get("limits"), dict) else {}
        self.limits = {}
        for key, value in DEFAULT_LIMITS.items():
            given = limits.get(key)
            self.limits[key] = given if isinstance(given, int) and not isinstance(given, bool) and given > 0 else value
        self.ca = data.get("caCertificate") or None
        self._context = None

    def label(self):
        return self.name or self.id

    def ssl_context(self):
        if self._context is None:
            context = ssl.create_default_context()
            if self.ca:
                try:
                    context.load_verify_locations(cadata=self.ca)
                except (ssl.SSLError, ValueError, TypeError) as error:
                    fail("invalid_connector", f"the connector's caCertificate is not a PEM certificate: {error}")
            self._context = context
        return self._context

    def folder(self, role):
        return self.folders[role]

    def describe(self):
        return {"id": self.id, "name": self.name, "imap": self.imap.describe(),
                "smtp": self.smtp.describe() if self.smtp else None,
                "fromAddress": self.from_address, "fromName": self.from_name,
                "folders": self.folders, "limits": self.limits, "customCa": bool(self.ca)}


def load_connectors():
    raw = os.environ.get(ENV)
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        fail("invalid_connector", f"{ENV} is not valid JSON")
    items = data.get("connectors") if isinstance(data, dict) else data
    if not isinstance(items, list):
        fail("invalid_connector", f"{ENV} has no connectors array")
    # Register every password first, so no later message can carry one.
    for item in items:
        if isinstance(item, dict):
            for side in ("imap", "smtp"):
                if isinstance(item.get(side), dict):
                    add_secret(item[side].get("password"))
    return [item for item in items if isinstance(item, dict) and item.get("kind", "email") == "email"]


def connector_for(arguments):
    """The connector named by arguments["connector"] (name or id), or the only one."""
    items = load_connectors()
    wanted = arguments.get("connector")
    if wanted is not None and (not isinstance(wanted, str) or not wanted.strip()):
        fail("invalid_arguments", "connector must be a connector's name or id")
    names = ", ".join(repr(str(i.get("name") or i.get("id"))) for i in items)
    if not items:
        fail("no_connector", "this persona has no email connector; an editor adds one under the persona's connectors")
    if wanted:
        wanted = wanted.strip()
        matches = [i for i in items if str(i.get("id", "")).lower() == wanted.lower()] or \
                  [i for i in items if str(i.get("name", "")) == wanted] or \
                  [i for i in items if str(i.get("name", "")).lower() == wanted.lower()]
        if not matches:
            fail("no_connector", f"no email connector named {wanted!r}; this persona has: {names}")
        if len(matches) > 1:
            fail("connector_required", f"more than one email connector is named {wanted!r}; use its id")
        return Connector(matches[0])
    if len(items) > 1:
        fail("connector_required", f"this persona has several email connectors ({names}); say which with connector")
    return Connector(items[0])


# ---------------------------------------------------------------------------------------------
# Errors

def classify(error, server, doing):
    """A ToolError for an exception raised while talking to `server`."""
    where = f"{server.what} server {server.host}:{server.port}"
    if isinstance(error, ToolError):
        return error
    if isinstance(error, ssl.SSLCertVerificationError):
        return ToolError("tls_failed", f"the {where} presented a certificate that is not trusted "
                         f"({error.verify_message or error.reason}); give the connector its CA certificate "
                         "if the server uses a private CA")
    if isinstance(error, ssl.SSLError):
        reason = error.reason or str(error)
        hint = ""
        if "WRONG_VERSION_NUMBER" in str(reason).upper() or "wrong version" in str(error).lower():
            hint = " (the port may not speak TLS: try starttls or another port)"
        return ToolError("tls_failed", f"TLS with the {where} failed while {doing}: {reason}{hint}")
    if isinstance(error, (socket.timeout, TimeoutError)):
        return ToolError("timeout", f"the {where} did not answer in time while {doing}")
    if isinstance(error, socket.gaierror):
        return ToolError("unreachable", f"cannot resolve {server.host}: {error.strerror or error}")
    if isinstance(error, ConnectionRefusedError):
        return ToolError("unreachable", f"the {where} refused the connection")
    if isinstance(error, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return ToolError("server_error", f"the {where} closed the connection while {doing}")
    if isinstance(error, OSError) and error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN,
                                                      errno.ENETDOWN, errno.EADDRNOTAVAIL):
        return ToolError("unreachable", f"no route to the {where}: {error.strerror}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        if "timed out" in str(error):  # smtplib turns a read timeout into a disconnect
            return ToolError("timeout", f"the {where} did not answer in time while {doing}")
        return ToolError("server_error", f"the {where} closed the connection while {doing}")
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return ToolError("server_error", f"the {where} answered {error.smtp_code} {text} while {doing}")
    if isinstance(error, imaplib.IMAP4.abort):
        return ToolError("server_error", f"the {where} broke off while {doing}: {error}")
    if isinstance(error, imaplib.IMAP4.error):
        return ToolError("server_error", f"the {where} refused while {doing}: {error}")
    if isinstance(error, OSError):
        return ToolError("unreachable", f"cannot talk to the {where} while {doing}: {error.strerror or error}")
    return ToolError("server_error", f"{type(error).__name__} from the {where} while {doing}: {error}")


def server_text(error):
    """The server's words out of an imaplib error ("LOGIN command error: NO [b'...']")."""
    text = _text(error.args[0] if error.args else error)
    match = re.search(r"""\[b(['"])(.*)\1\]$""", text)
    return match.group(2) if match else text


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# IMAP

class IMAP:
    """A logged-in IMAP connection (imaplib) with the few commands the tools need."""

    def __init__(self, connector):
        self.connector = connector
        self.server = server = connector.imap
        self.selected = None
        self.uid_validity = None
        self.exists = 0
        try:
            if server.security == "tls":
                self.conn = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=connector.ssl_context(),
                                              timeout=CONNECT_TIMEOUT)
            else:
                self.conn = imaplib.IMAP4(server.host, server.port, timeout=CONNECT_TIMEOUT)
                if server.security == "starttls":
                    if "STARTTLS" not in self.conn.capabilities:
                        fail("tls_failed", f"the IMAP server {server.host}:{server.port} does not offer STARTTLS; "
                                           "use security tls (usually port 993) or none")
                    self.conn.starttls(ssl_context=connector.ssl_context())
        except ToolError:
            raise
        except Exception as error:  # noqa: BLE001
            raise classify(error, server, "connecting") from None
        self._login()
        self.conn.sock.settimeout(IO_TIMEOUT)
        # imaplib keeps the capabilities from before the login; servers announce more after it
        # (MOVE, UIDPLUS, ...).
        self._capabilities = set(self.conn.capabilities)
        try:
            typ, data = self.conn.capability()
            if typ == "OK" and data and isinstance(data[-1], bytes):
                self._capabilities = set(data[-1].decode("ascii", "replace").upper().split())
        except imaplib.IMAP4.error:
            pass

    def _login(self):
        server = self.server
        caps = self.conn.capabilities
        try:
            if "LOGINDISABLED" in caps and "AUTH=PLAIN" not in caps:
                fail("auth_failed", f"the IMAP server {server.host}:{server.port} refuses to log in without TLS; "
                                    "use security starttls or tls")
            if "AUTH=PLAIN" in caps:
                secret = f"\0{server.username}\0{server.password}".encode("utf-8")
                self.conn.authenticate("PLAIN", lambda _challenge: secret)
            else:
                self.conn.login(server.username, server.password)
        except ToolError:
            raise
        except imaplib.IMAP4.abort as error:
            raise classify(error, server, "logging in") from None
        except imaplib.IMAP4.error as error:
            text = server_text(error)
            fail("auth_failed", f"the IMAP server {server.host}:{server.port} refused the login for "
                                f"{server.username!r}: {text}")
        except UnicodeEncodeError:
            fail("auth_failed", "the IMAP server does not offer AUTH=PLAIN, and LOGIN cannot carry a "
                                "non-ASCII user name or password")
        except Exception as error:  # noqa: BLE001
            raise classify(error, server, "logging in") from None

    def capabilities(self):
        return set(self._capabilities)

    def run(self, doing, method, *args):
        """Calls imaplib `method`; a NO/BAD becomes server_error (or not_found via the caller)."""
        try:
            typ, data = getattr(self.conn, method)(*args)
        except ToolError:
            raise
        except imaplib.IMAP4.error as error:
            if isinstance(error, imaplib.IMAP4.abort):
                raise classify(error, self.server, doing) from None
            fail("server_error", f"the IMAP server refused while {doing}: {_text(error.args[0] if error.args else error)}")
        except Exception as error:  # noqa: BLE001
            raise classify(error, self.server, doing) from None
        return typ, data

    def select(self, folder, readonly=True):
        folder = folder or self.connector.folder("inbox")
        typ, data = self.run(f"opening folder {folder!r}", "select", quote_mailbox(folder), readonly)
        if typ != "OK":
            text = _text(data)
            if "NONEXISTENT" in text.upper() or "doesn't exist" in text or "not exist" in text.lower() or "unknown" in text.lower():
                fail("not_found", f"there is no folder {folder!r} on the IMAP server (email_list with listFolders: true shows the folders)")
            fail("server_error", f"the IMAP server refused to open folder {folder!r}: {text}")
        self.selected = folder
        try:
            self.exists = int(data[0])
        except (TypeError, ValueError, IndexError):
            self.exists = 0
        validity = self.conn.untagged_responses.get("UIDVALIDITY") or [None]
        try:
            self.uid_validity = int(validity[-1])
        except (TypeError, ValueError):
            self.uid_validity = None
        return self.exists

    def folders(self):
        typ, data = self.run("listing folders", "list")
        if typ != "OK":
            fail("server_error", f"the IMAP server refused to list folders: {_text(data)}")
        out = []
        for line in data:
            if isinstance(line, tuple):
                line = line[0] + b" " + line[1]
            if not line:
                continue
            match = re.match(rb'\((?P<flags>[^)]*)\) (?P<sep>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$', line)
            if not match:
                continue
            name = match.group("name").strip()
            if name.startswith(b'"') and name.endswith(b'"'):
                name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
            out.append({"name": decode_mailbox(name.decode("utf-8", "replace")),
                        "flags": match.group("flags").decode("ascii", "replace").split()})
        return out

    def folder_exists(self, folder):
        return any(f["name"] == folder for f in self.folders())

    def uid(self, doing, command, *args):
        typ, data = self.run(doing, "uid", command, *args)
        if typ != "OK":
            fail("server_error", f"the IMAP server refused while {doing}: {_text(data)}")
        return data

    def search(self, criteria):
        """UIDs matching `criteria` (a list of IMAP search keys; a (key, text) pair for text
        that needs a literal). Non-ASCII texts are searched one per command, then intersected."""
        ascii_keys, literal_keys = [], []
        for key in criteria:
            if isinstance(key, tuple):
                name, text = key
                if text.isascii():
                    ascii_keys.append(f"{name} {quote_string(text)}")
                else:
                    literal_keys.append((name, text))
            else:
                ascii_keys.append(key)
        if not literal_keys:
            return sorted(set(_uids(self.uid("searching", "SEARCH", *(ascii_keys or ["ALL"])))))
        result = None
        for name, text in literal_keys:
            self.conn.literal = text.encode("utf-8")
            data = self.uid("searching", "SEARCH", "CHARSET", "UTF-8", *ascii_keys, name)
            found = set(_uids(data))
            result = found if result is None else result & found
        return sorted(result or [])

    def fetch(self, uids, items):
        """{uid: {ITEM: value}} for a UID FETCH of `uids` (a list)."""
        if not uids:
            return {}
        data = self.uid("fetching messages", "FETCH", uid_set(uids), items)
        return parse_fetch_responses(data)

    def logout(self):
        try:
            self.conn.logout()
        except Exception:  # noqa: BLE001 - the work is done
            pass


def _uids(data):
    out = []
    for chunk in data or []:
        if isinstance(chunk, bytes):
            out += [int(x) for x in chunk.split() if x.isdigit()]
    return out


def uid_set(uids):
    """A compact IMAP sequence set (1:5,7,9:10) for sorted UIDs."""
    uids = sorted(set(uids))
    parts, start, prev = [], None, None
    for uid in uids:
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            parts.append(f"{start}:{prev}" if prev != start else str(start))
            start = prev = uid
    if start is not None:
        parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def quote_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_mailbox(name):
    """Modified UTF-7 (RFC 3501 5.1.3) for a folder name."""
    out, buffer = [], []

    def flush():
        if buffer:
            data = "".join(buffer).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            buffer.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buffer.append(ch)
    flush()
    return "".join(out)


def decode_mailbox(name):
    def repl(match):
        text = match.group(1)
        if not text:
            return "&"
        data = text.replace(",", "/")
        data += "=" * (-len(data) % 4)
        try:
            return base64.b64decode(data).decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError):
            return match.group(0)
    return re.sub(r"&([A-Za-z0-9+,]*)-", repl, name)


def quote_mailbox(name):
    return quote_string(encode_mailbox(name))


# ---------------------------------------------------------------------------------------------
# IMAP response parsing (FETCH items, BODYSTRUCTURE)

class _Tokens:
    def __init__(self, text, literals):
        self.text = text
        self.literals = literals
        self.pos = 0

    def skip(self):
        while self.pos < len(self.text) and self.text[self.pos] in b" \r\n":
            self.pos += 1

    def value(self):
        self.skip()
        if self.pos >= len(self.text):
            return None
        ch = self.text[self.pos:self.pos + 1]
        if ch == b"(":
            self.pos += 1
            items = []
            while True:
                self.skip()
                if self.pos >= len(self.text):
                    return items
                if self.text[self.pos:self.pos + 1] == b")":
                    self.pos += 1
                    return items
                items.append(self.value())
        if ch == b'"':
            self.pos += 1
            out = bytearray()
            while self.pos < len(self.text):
                c = self.text[self.pos]
                if c == 0x5C and self.pos + 1 < len(self.text):
                    out.append(self.text[self.pos + 1])
                    self.pos += 2
                    continue
                self.pos += 1
                if c == 0x22:
                    break
                out.append(c)
            return bytes(out)
        if ch == b"{":
            end = self.text.find(b"}", self.pos)
            self.pos = end + 1 if end >= 0 else len(self.text)
            return self.literals.pop(0) if self.literals else b""
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            c = self.text[self.pos:self.pos + 1]
            if c == b"[":
                depth += 1
            elif c == b"]":
                depth -= 1
            elif depth <= 0 and c in b" ()":
                break
            self.pos += 1
        atom = self.text[start:self.pos]
        if atom.upper() == b"NIL":
            return None
        if atom.isdigit():
            return int(atom)
        return atom.decode("ascii", "replace")


def parse_fetch_responses(data):
    """imaplib's FETCH data (bytes lines and (line, literal) tuples) to {uid: {ITEM: value}}."""
    out = {}
    text, literals = b"", []
    for element in data or []:
        if isinstance(element, tuple):
            text += element[0]
            literals.append(element[1])
            continue
        if element is None:
            continue
        text += element
        _parse_one(text, literals, out)
        text, literals = b"", []
    if text:
        _parse_one(text, literals, out)
    return out


def _parse_one(text, literals, out):
    match = re.match(rb"\s*\d+\s+", text)
    if not match:
        return
    tokens = _Tokens(text[match.end():], list(literals))
    items = tokens.value()
    if not isinstance(items, list):
        return
    values = {}
    for i in range(0, len(items) - 1, 2):
        key = items[i]
        if isinstance(key, str):
            values[key.upper()] = items[i + 1]
    uid = values.get("UID")
    if isinstance(uid, int):
        if uid in out:  # a second response for the same message (e.g. an unsolicited FLAGS)
            out[uid].update(values)
        else:
            out[uid] = values


def structure_attachments(structure):
    """[(name, content type, encoded size)] of the attachment parts in a BODYSTRUCTURE."""
    found = []
    _walk_structure(structure, found)
    return found


def _s(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _params(value):
    out = {}
    if isinstance(value, list):
        for i in range(0, len(value) - 1, 2):
            out[_s(value[i]).lower()] = _s(value[i + 1])
    return out


def is_attachment(ctype, disposition, name):
    """The rule email_list and email_read share: a part is an attachment when its disposition
    says so, when it has a file name, or when it is neither text/plain nor text/html (a PDF or
    an image, inline or not). Multiparts and forwarded messages (message/rfc822 not marked as an
    attachment) are containers, not attachments."""
    if ctype.startswith("multipart/"):
        return False
    if ctype == "message/rfc822" and disposition != "attachment":
        return False
    return disposition == "attachment" or bool(name) or ctype not in ("text/plain", "text/html")


def _walk_structure(node, found, depth=0):
    if not isinstance(node, list) or not node or depth > 50:
        return
    if isinstance(node[0], list):  # multipart: parts, then the subtype and extension data
        for child in node:
            if not isinstance(child, list):
                break
            _walk_structure(child, found, depth + 1)
        return
    ctype = f"{_s(node[0]).lower()}/{_s(node[1] if len(node) > 1 else '').lower()}"
    params = _params(node[2] if len(node) > 2 else None)
    size = node[6] if len(node) > 6 and isinstance(node[6], int) else 0
    # Single-part extension data (md5, disposition, ...) follows the basic fields: text/* adds
    # `lines`, message/rfc822 adds envelope, body and lines.
    md5_at = 8 if ctype.startswith("text/") else 10 if ctype == "message/rfc822" else 7
    disposition, dparams = "", {}
    if len(node) > md5_at + 1 and isinstance(node[md5_at + 1], list) and node[md5_at + 1]:
        disposition = _s(node[md5_at + 1][0]).lower()
        dparams = _params(node[md5_at + 1][1] if len(node[md5_at + 1]) > 1 else None)
    name = filename_from_params(dparams, "filename") or filename_from_params(params, "name")
    if ctype == "message/rfc822" and disposition != "attachment":
        if len(node) > 8 and isinstance(node[8], list):
            _walk_structure(node[8], found, depth + 1)
        return
    if is_attachment(ctype, disposition, name):
        found.append((name, ctype, size))


def filename_from_params(params, key):
    """A parameter value, RFC 2231 (key*, key*0*, ...) or RFC 2047 encoded, decoded."""
    if key in params:
        return decode_words(params[key])
    if key + "*" in params:
        return decode_2231(params[key + "*"])
    pieces, encoded = [], False
    for i in range(0, 100):
        if f"{key}*{i}*" in params:
            pieces.append(params[f"{key}*{i}*"])
            encoded = encoded or i == 0
        elif f"{key}*{i}" in params:
            pieces.append(params[f"{key}*{i}"])
        else:
            break
    if pieces:
        value = "".join(pieces)
        return decode_2231(value) if encoded else decode_words(value)
    return ""


def decode_2231(value):
    """charset'language'percent-encoded -> text (bad escapes and charsets do not fail)."""
    charset, _, rest = value.partition("'")
    if not _:
        return unquote_bytes(value).decode("utf-8", "replace")
    _, _, text = rest.partition("'")
    return decode_bytes(unquote_bytes(text), charset)


def unquote_bytes(text):
    """Percent-decoding to bytes; a % not followed by two hex digits stays as it is."""
    raw = text.encode("utf-8", "surrogateescape")
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


# ---------------------------------------------------------------------------------------------
# Header decoding (RFC 2047), never failing

def decode_bytes(data, charset):
    charset = (charset or "utf-8").strip().strip('"').lower()
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix in an encoded word
    if charset in ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        charset = "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    try:
        return data.decode(charset, "replace")
    except Exception:  # noqa: BLE001 - broken codecs (e.g. a multibyte codec on junk)
        return data.decode("utf-8", "replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_words(text):
    """A header value with RFC 2047 encoded words decoded; whitespace between two adjacent
    encoded words dropped; a word that does not decode is left as it is."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = re.sub(r"\r?\n[ \t]+", " ", text).replace("\r", "").replace("\n", " ")
    if "=?" not in text:
        return text.strip()
    out = []
    last = 0
    previous_was_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[last:match.start()]
        if not (previous_was_word and between.strip() == ""):
            out.append(between)
        charset, kind, payload = match.groups()
        decoded = None
        try:
            if kind in "bB":
                data = payload + "=" * (-len(payload) % 4)
                if not re.fullmatch(r"[A-Za-z0-9+/]*=*", data):
                    raise ValueError("not base64")
                decoded = base64.b64decode(data)
            else:
                decoded = quopri.decodestring(payload.encode("ascii", "replace"), header=True)
        except (ValueError, binascii.Error):
            decoded = None
        if decoded is None:
            out.append(match.group(0))
            previous_was_word = False
        else:
            out.append(decode_bytes(decoded, charset))
            previous_was_word = True
        last = match.end()
    out.append(text[last:])
    return "".join(out).strip()


def parse_header_block(data):
    """{lower-case name: [raw values]} from a header block (bytes), tolerant of anything."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    headers = {}
    name = None
    for line in re.split(r"\r?\n", data or ""):
        if not line:
            if name is not None:
                break  # end of the header block
            continue
        if line[0] in " \t" and name is not None:
            headers[name][-1] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon or not key or " " in key.strip() or len(key) > 200:
            name = None  # garbage line: ignored
            continue
        name = key.strip().lower()
        headers.setdefault(name, []).append(value.strip())
    return headers


def addresses(values):
    """Header values (list of raw strings) to ["Name <a@b>", ...], decoded."""
    out = []
    for value in values or []:
        try:
            pairs = getaddresses([value])
        except Exception:  # noqa: BLE001
            pairs = []
        pairs = [(n, a) for n, a in pairs if a or n]
        if not pairs:
            if value.strip():
                out.append(decode_words(value))
            continue
        for name, addr in pairs:
            name = decode_words(name).strip().strip('"')
            out.append(f"{name} <{addr}>" if name and addr else (addr or name))
    return out


def iso_date(value, fallback=None):
    """An RFC 5322 date as ISO 8601 (UTC offset kept), else `fallback`."""
    if value:
        try:
            parsed = parsedate_to_datetime(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.isoformat()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return fallback


def internal_date(value):
    """IMAP INTERNALDATE ("07-Dec-2026 12:00:00 +0000") as ISO 8601."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z").isoformat()
    except ValueError:
        return None


def message_ids(value):
    return re.findall(r"<[^<>\s]+>", value or "")


# ---------------------------------------------------------------------------------------------
# HTML to text

class _HTMLText(HTMLParser):
    BLOCK = {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "table",
             "tr", "ul", "ol", "dl", "dd", "dt", "blockquote", "pre", "form", "fieldset", "address",
             "figure", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "center"}
    SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0
        self.pre = 0
        self.links = []  # (href, start index in out)

    def newline(self, count=1):
        self.out.append("\n" * count)

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag in self.SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        attrs = dict(attrs)
        if tag in self.BLOCK:
            self.newline(2 if tag in ("p", "table", "ul", "ol", "blockquote", "pre") or tag.startswith("h") else 1)
            if tag == "hr":
                self.out.append("----------")
                self.newline()
            if tag == "pre":
                self.pre += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.out)))
        elif tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self.out.append(f"[{alt}]")

    def handle_endtag(self, tag):
        tag = tag.lower()
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.out[start:]).strip()
            href = href.strip()
            if href and not href.lower().startswith(("javascript:", "#", "data:")):
                shown = href[7:] if href.lower().startswith("mailto:") else href
                if text != shown and text != href:
                    self.out.append(f" ({shown})" if text else shown)
        elif tag in self.BLOCK:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.newline(2 if tag in ("p", "table", "ul", "ol", "blockquote", "pre") or tag.startswith("h") else 1)
        elif tag in ("td", "th"):
            self.out.append(" \t")

    def handle_data(self, data):
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
        else:
            self.out.append(re.sub(r"\s+", " ", data))

    def text(self):
        raw = "".join(self.out)
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in raw.split("\n")]
        text = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html):
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
        return parser.text()
    except Exception:  # noqa: BLE001 - html.parser is tolerant; this is the last resort
        text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
        return re.sub(r"[ \t]+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


# ---------------------------------------------------------------------------------------------
# SMTP

class SMTP:
    """A connected, logged-in SMTP session."""

    def __init__(self, connector):
        server = connector.smtp
        if server is None:
            fail("invalid_connector", f"the connector {connector.label()!r} has no SMTP settings; it cannot send")
        self.server = server
        try:
            # local_hostname given: no reverse DNS lookup of our own name (slow without DNS).
            if server.security == "tls":
                self.conn = smtplib.SMTP_SSL(server.host, server.port, timeout=CONNECT_TIMEOUT,
                                             context=connector.ssl_context(), local_hostname="localhost")
            else:
                self.conn = smtplib.SMTP(server.host, server.port, timeout=CONNECT_TIMEOUT, local_hostname="localhost")
            # EHLO with our address literal (no reverse DNS lookup of our own name).
            try:
                self.conn.local_hostname = f"[{self.conn.sock.getsockname()[0]}]"
            except OSError:
                pass
            self.conn.ehlo()
            if server.security == "starttls":
                if not self.conn.has_extn("starttls"):
                    fail("tls_failed", f"the SMTP server {server.host}:{server.port} does not offer STARTTLS; "
                                       "use security tls (usually port 465) or none")
                self.conn.starttls(context=connector.ssl_context())
                self.conn.ehlo()
        except ToolError:
            self.close()
            raise
        except Exception as error:  # noqa: BLE001
            self.close()
            raise classify(error, server, "connecting") from None
        if server.username:
            self._login()
        self.conn.sock.settimeout(IO_TIMEOUT * 2)

    def _login(self):
        server = self.server
        if not self.conn.has_extn("auth"):
            self.close()
            hint = "" if server.security != "none" else " (servers usually offer it only after STARTTLS: use security starttls or tls)"
            fail("auth_failed", f"the SMTP server {server.host}:{server.port} does not offer AUTH on this connection{hint}")
        mechanisms = self.conn.esmtp_features.get("auth", "").upper().split()
        try:
            if "PLAIN" in mechanisms:
                token = base64.b64encode(f"\0{server.username}\0{server.password}".encode("utf-8")).decode()
                code, response = self.conn.docmd("AUTH", "PLAIN " + token)
                if code not in (235, 503):
                    raise smtplib.SMTPAuthenticationError(code, response)
            else:
                self.conn.login(server.username, server.password)
        except smtplib.SMTPAuthenticationError as error:
            self.close()
            text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
            fail("auth_failed", f"the SMTP server {server.host}:{server.port} refused the login for "
                                f"{server.username!r}: {error.smtp_code} {text}")
        except UnicodeEncodeError:
            self.close()
            fail("auth_failed", "the SMTP server does not offer AUTH PLAIN, and its mechanisms cannot carry a "
                                "non-ASCII user name or password")
        except Exception as error:  # noqa: BLE001
            self.close()
            raise classify(error, server, "logging in") from None

    def close(self):
        conn = getattr(self, "conn", None)
        if conn is None:
            return
        try:
            conn.quit()
        except Exception:  # noqa: BLE001
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        self.conn = None


# ---------------------------------------------------------------------------------------------
# Workspace paths (the same rules as the office tools)

def workspace_root():
    return os.path.realpath(os.environ.get("PERSONA_WORKSPACE") or os.getcwd())


def _inside(root, path):
    return path == root or path.startswith(root + os.sep)


def check_relative(path, what):
    if not isinstance(path, str) or not path.strip():
        fail("invalid_path", f"{what} must be a non-empty path relative to the workspace")
    if "\x00" in path:
        fail("invalid_path", f"{what} contains a NUL byte")
    if path.startswith("/") or path.startswith("~"):
        fail("path_outside_workspace", f"{what} must be relative to the workspace (/workspace), not absolute: {path}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        fail("path_outside_workspace", f"{what} may not contain '..': {path}")
    if not parts:
        fail("invalid_path", f"{what} names the workspace itself: {path}")
    return parts


def input_file(path, what="attachment"):
    """(absolute path, size) of an existing regular file inside the workspace."""
    parts = check_relative(path, what)
    root = workspace_root()
    real = os.path.realpath(os.path.join(root, *parts))
    if not _inside(root, real):
        fail("path_outside_workspace", f"{what} {path} leads outside the workspace through a symbolic link")
    try:
        info = os.stat(real)
    except FileNotFoundError:
        fail("not_found", f"{what} {path} does not exist in the workspace")
    except OSError as error:
        fail("invalid_path", f"{what} {path} cannot be read: {error.strerror}")
    if not stat.S_ISREG(info.st_mode):
        fail("invalid_path", f"{what} {path} is not a regular file")
    return real, info.st_size


def output_directory(path):
    """The absolute path of a directory inside the workspace (created), refusing escapes."""
    parts = check_relative(path, "attachmentsDir")
    root = workspace_root()
    target = os.path.join(root, *parts)
    existing = target
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not _inside(root, os.path.realpath(existing)):
        fail("path_outside_workspace", f"attachmentsDir leads outside the workspace through a symbolic link: {path}")
    try:
        os.makedirs(target, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        fail("invalid_path", f"a part of attachmentsDir {path} is a file, not a directory")
    real = os.path.realpath(target)
    if not _inside(root, real) or real == root and parts:
        fail("path_outside_workspace", f"attachmentsDir leads outside the workspace: {path}")
    if not os.path.isdir(real):
        fail("invalid_path", f"attachmentsDir {path} is not a directory")
    return real


def safe_filename(name, fallback):
    """A file name without directories, control characters or a leading dot, <= 200 bytes."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".").strip()
    name = re.sub(r"\s+", " ", name)
    if not name or name in (".", ".."):
        name = fallback
    while len(name.encode("utf-8")) > 200:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10 and len(stem) > 1:
            name = stem[:-1] + "." + ext
        else:
            name = name[:-1]
    return name


def write_file(directory, name, data):
    """Writes `data` as `name` in `directory` (a new name if taken: "x (2).pdf"), atomically and
    without following a symbolic link; returns the final absolute path."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate = name
    for n in range(2, 1000):
        if not os.path.lexists(os.path.join(directory, candidate)):
            break
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
    target = os.path.join(directory, candidate)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return target


def relative(path):
    return os.path.relpath(path, workspace_root())
