# shellcheck shell=bash
# scripts/lib/mail.sh -- real mail servers for the email tests and benchmarks: Debian's Postfix
# (SMTP) and Dovecot (IMAP, LMTP delivery, SASL for Postfix), a test CA, one shared password.
#
# Source it, then call:
#   mail_preseed          debconf answers for postfix ("No configuration"), so installing it never
#                         prompts. Call it before any apt-get that installs postfix.
#   ensure_mail_servers   install (once), write the configuration, start (or restart when the
#                         configuration changed) and check a real login + delivery, then export
#                         the PERSONA_TEST_MAIL_* variables below. Idempotent; when both servers
#                         already run with this configuration it is a few socket checks.
#                         Needs the Docker engine up: the servers also listen on docker0's address.
#   stop_mail_servers     stops both daemons (mailboxes and the CA are kept).
#
# Exported after success:
#   PERSONA_TEST_MAIL_HOST=127.0.0.1          the host's own address for the servers
#   PERSONA_TEST_MAIL_GATEWAY=<docker0 IPv4>  where containers on Docker's default bridge reach them
#   PERSONA_TEST_MAIL_CA=<cache>/mail/ca.pem  the test CA (PEM) that signed the servers' certificate
#   PERSONA_TEST_MAIL_PASSWORD=<hex>          the one password of every mailbox (<cache>/mail/password)
#   PERSONA_TEST_MAIL_DOMAIN=persona.test
#
# Ports, on 127.0.0.1 and the docker0 gateway address only (never 0.0.0.0):
#   143  IMAP, STARTTLS offered; plaintext LOGIN/AUTHENTICATE allowed WITHOUT TLS as well, so a
#        `security: none` connector can be tested (a real server would refuse that)
#   993  IMAPS (implicit TLS)
#   25   SMTP, no AUTH, STARTTLS offered; accepts mail for @persona.test only (test deliveries)
#   587  submission: STARTTLS required before AUTH (PLAIN, LOGIN); sending needs AUTH
#   465  submissions (implicit TLS) + AUTH; sending needs AUTH
# The certificate's names: IP 127.0.0.1, IP <docker0 address>, DNS localhost, DNS mail.persona.test.
#
# Mailboxes: every address <anything>@persona.test exists and logs in with the shared password
# (dovecot passdb static; a wrong password fails); a login without a domain gets @persona.test.
# Maildir under /var/mail/persona/<domain>/<local part>, owned by the system user vmail, created
# on first delivery or login with INBOX, Sent, Archive, Trash and Junk (subscribed, with their
# special-use flags). A test that wants an empty mailbox uses a new address (t-<uuid>@persona.test).
# IMAP has IDLE, MOVE, UIDPLUS, LITERAL+ and MULTIAPPEND (Dovecot's defaults).
# Delivery: mail for @persona.test (port 25, or submitted on 587/465) goes through Dovecot LMTP
# into the recipient's INBOX. Mail for any other domain never leaves the machine: it is accepted
# and DISCARDED (Postfix's discard transport, logged as "status=sent (test-server-drops...)"),
# except @reject.persona.test, which submission refuses at RCPT (550), to test a rejected
# recipient. Port 25 refuses other domains (relay access denied).
# Limits: messages up to 50 MB (message_size_limit), no mailbox or quota limits.
# Test-friendly settings: no delay after a failed login (auth_failure_delay 0), no fsync on
# mail writes (mail_fsync never), short queue retry times, no reverse DNS of clients.
#
# Files: state in $PERSONA_CACHE_DIR/mail (ca.pem, ca.key, server.pem, server.key, password,
# ensure-mail.log); configuration written to /etc/dovecot/dovecot.conf, /etc/postfix/main.cf and
# /etc/postfix/master.cf (edits are overwritten); server logs in /var/log/persona-mail/
# (dovecot.log, postfix.log). systemd is not used: the daemons are started directly
# (`dovecot`, `postfix start`). Needs root. This file sets no shell options.

_PERSONA_MAIL_DOMAIN=persona.test
_PERSONA_MAIL_PACKAGES=(postfix dovecot-core dovecot-imapd dovecot-lmtpd iproute2 openssl)
_PERSONA_MAIL_PORTS=(25 143 465 587 993)
_PERSONA_MAIL_LOGDIR=/var/log/persona-mail
_PERSONA_MAIL_HOME=/var/mail/persona

# debconf answers for postfix: "No configuration" (this file writes main.cf and master.cf).
mail_preseed() {
    printf '%s\n' \
        'postfix postfix/main_mailer_type select No configuration' \
        'postfix postfix/mailname string mail.persona.test' | debconf-set-selections
}

_persona_mail_vars() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    _MAIL_REPO="${REPO:-$(cd "$here/../.." && pwd)}"
    _MAIL_DIR="${PERSONA_CACHE_DIR:-$_MAIL_REPO/.cache}/mail"
    _MAIL_LOG="$_MAIL_DIR/ensure-mail.log"
}

# The IPv4 address of docker0 (the default bridge's gateway), or empty.
_persona_mail_gateway() {
    local gw
    gw="$(ip -4 -o addr show dev docker0 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')"
    if [[ -z "$gw" ]] && command -v docker >/dev/null 2>&1; then
        gw="$(timeout 10 docker network inspect bridge \
            -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)"
        # Only usable when this machine really holds the address (the servers bind to it).
        [[ -n "$gw" ]] && ! ip -4 -o addr show 2>/dev/null | grep -q " inet $gw/" && gw=""
    fi
    printf '%s' "$gw"
}

_persona_mail_dovecot_conf() { # gateway password
    cat <<EOF
# written by scripts/lib/mail.sh -- edits are overwritten (test mail server, see that file)
protocols = imap lmtp
listen = 127.0.0.1, $1
base_dir = /run/dovecot
log_path = $_PERSONA_MAIL_LOGDIR/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
login_greeting = Persona test IMAP ready.

ssl = yes
ssl_cert = <$_MAIL_DIR/server.pem
ssl_key = <$_MAIL_DIR/server.key
ssl_min_protocol = TLSv1.2
# Plaintext LOGIN without TLS on 143 is allowed on purpose (security: none connectors are tested).
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_default_realm = $_PERSONA_MAIL_DOMAIN
auth_failure_delay = 0
auth_cache_size = 0

passdb {
  driver = static
  args = password=$2
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$_PERSONA_MAIL_HOME/%d/%n allow_all_users=yes
}

mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = 100
namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}

protocol imap {
  mail_max_userip_connections = 500
}

service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
  process_min_avail = 2
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
# No growing delay after failed logins from one address (tests fail logins on purpose; the
# penalty would then slow every later SMTP AUTH from 127.0.0.1 by up to 15 s).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

_persona_mail_main_cf() { # gateway
    cat <<EOF
# written by scripts/lib/mail.sh -- edits are overwritten (test mail server, see that file)
compatibility_level = 3.6
myhostname = mail.$_PERSONA_MAIL_DOMAIN
mydomain = $_PERSONA_MAIL_DOMAIN
myorigin = \$mydomain
mydestination =
local_recipient_maps =
local_transport = error:no local delivery on the test server
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1, $1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP Persona test server
biff = no
append_dot_mydomain = no
readme_directory = no
maillog_file = $_PERSONA_MAIL_LOGDIR/postfix.log
smtpd_peername_lookup = no
smtp_dns_support_level = disabled

message_size_limit = 52428800
mailbox_size_limit = 0
virtual_mailbox_limit = 0

# Every local part of persona.test exists (static map; the value is unused: LMTP delivers).
virtual_mailbox_domains = $_PERSONA_MAIL_DOMAIN
virtual_mailbox_maps = static:persona
virtual_transport = lmtp:unix:private/dovecot-lmtp
# Nothing leaves the machine: other domains are accepted (after AUTH) and dropped.
relay_domains =
relay_transport = discard:test-server-drops-outbound-mail
default_transport = discard:test-server-drops-outbound-mail
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access inline:{ {reject.$_PERSONA_MAIL_DOMAIN = 550 5.1.1 recipient rejected by the test server} }

smtpd_tls_cert_file = $_MAIL_DIR/server.pem
smtpd_tls_key_file = $_MAIL_DIR/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtp_tls_security_level = none
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous

# Tests: no pauses, quick retries.
in_flow_delay = 0
smtpd_error_sleep_time = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
EOF
}

_persona_mail_master_cf() {
    cat <<'EOF'
# written by scripts/lib/mail.sh -- edits are overwritten (test mail server, see that file)
# service  type  private unpriv  chroot  wakeup  maxproc command + args
smtp       inet  n       -       n       -       -       smtpd
587        inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
465        inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
lmtp       unix  -       -       n       -       -       lmtp
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
EOF
}

# Listening exactly where we want: every port on 127.0.0.1 and the gateway, none on a wildcard.
_persona_mail_listening() { # gateway
    local listeners port addr
    listeners="$(ss -Hltn 2>/dev/null | awk '{print $4}')" || return 1
    for port in "${_PERSONA_MAIL_PORTS[@]}"; do
        for addr in 127.0.0.1 "$1"; do
            grep -qx "$addr:$port" <<<"$listeners" || return 1
        done
        grep -qE "^(0\.0\.0\.0|\*|\[::\]):$port\$" <<<"$listeners" && return 1
    done
    return 0
}

# One line of greeting from host:port, starting with the expected text.
_persona_mail_greets() { # host port prefix
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
        IFS= read -r -t 3 line <&3 || exit 1
        case "$2" in 25) printf "QUIT\r\n" >&3 ;; *) printf "a LOGOUT\r\n" >&3 ;; esac
        [[ "$line" == "$3"* ]]' greet "$@" 2>/dev/null
}

# The fast check: configuration as this file writes it, both servers listening only where they
# should, and both greeting on 127.0.0.1.
_persona_mail_ready() { # gateway password
    [[ -f "$_MAIL_DIR/ca.pem" && -f "$_MAIL_DIR/server.pem" && -n "$1" && -n "$2" ]] || return 1
    [[ "$(cat /etc/dovecot/dovecot.conf 2>/dev/null)" == "$(_persona_mail_dovecot_conf "$1" "$2")" ]] || return 1
    [[ "$(cat /etc/postfix/main.cf 2>/dev/null)" == "$(_persona_mail_main_cf "$1")" ]] || return 1
    [[ "$(cat /etc/postfix/master.cf 2>/dev/null)" == "$(_persona_mail_master_cf)" ]] || return 1
    _persona_mail_cert_ok "$1" || return 1
    _persona_mail_listening "$1" || return 1
    _persona_mail_greets 127.0.0.1 143 "* OK" && _persona_mail_greets 127.0.0.1 25 "220 "
}

_persona_mail_log() { printf '%s %s\n' "$(date '+%F %T')" "$*" >>"$_MAIL_LOG"; }

# Only inside the setup subshell: report, show log tails, leave the subshell.
_persona_mail_die() {
    _persona_mail_log "ERROR: $*"
    {
        echo "ensure_mail_servers: ERROR: $*"
        echo "---- tail of $_MAIL_LOG"
        tail -n 30 "$_MAIL_LOG" 2>/dev/null || true
        local f
        for f in "$_PERSONA_MAIL_LOGDIR/dovecot.log" "$_PERSONA_MAIL_LOGDIR/postfix.log"; do
            [[ -f "$f" ]] || continue
            echo "---- tail of $f"
            tail -n 15 "$f" 2>/dev/null || true
        done
    } >&2
    exit 1
}

_persona_mail_run() { # what command...
    local what="$1"
    shift
    _persona_mail_log "+ $*"
    "$@" >>"$_MAIL_LOG" 2>&1 || _persona_mail_die "$what failed (exit $?)"
}

# Start a daemon with every descriptor above 2 closed (a caller's `$(...)` or `| tee` must see
# EOF; our flock fd must not be kept) and its output in our log.
_persona_mail_daemon() {
    _persona_mail_log "+ $*"
    bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] &&
        eval "exec $n>&-"; done 2>/dev/null; exec "$@"' persona-mail-daemon "$@" \
        </dev/null >>"$_MAIL_LOG" 2>&1
}

# The server certificate exists, is valid for 30 more days and names the gateway address.
_persona_mail_cert_ok() { # gateway
    openssl x509 -in "$_MAIL_DIR/server.pem" -noout -checkend 2592000 >/dev/null 2>&1 || return 1
    openssl x509 -in "$_MAIL_DIR/server.pem" -noout -ext subjectAltName 2>/dev/null |
        grep -q "IP Address:$1\(,\|\$\)"
}

_persona_mail_certs() { # gateway
    local d="$_MAIL_DIR"
    if [[ ! -f "$d/ca.pem" || ! -f "$d/ca.key" ]]; then
        _persona_mail_log "creating the test CA in $d"
        rm -f "$d/server.pem" "$d/server.key"
        _persona_mail_run "openssl (CA key)" openssl genrsa -out "$d/ca.key.tmp" 2048
        _persona_mail_run "openssl (CA certificate)" openssl req -x509 -new -key "$d/ca.key.tmp" \
            -sha256 -days 3650 -subj "/O=Persona Platform tests/CN=Persona test mail CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$d/ca.pem.tmp"
        chmod 0600 "$d/ca.key.tmp" && chmod 0644 "$d/ca.pem.tmp"
        mv "$d/ca.key.tmp" "$d/ca.key" && mv "$d/ca.pem.tmp" "$d/ca.pem" ||
            _persona_mail_die "cannot store the CA in $d"
    fi
    _persona_mail_cert_ok "$1" && return 0
    _persona_mail_log "issuing the server certificate for 127.0.0.1, $1, localhost, mail.$_PERSONA_MAIL_DOMAIN"
    local ext="$d/server.ext"
    cat >"$ext" <<EOF || _persona_mail_die "cannot write $ext"
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = IP:127.0.0.1, IP:$1, DNS:localhost, DNS:mail.$_PERSONA_MAIL_DOMAIN
EOF
    _persona_mail_run "openssl (server key)" openssl genrsa -out "$d/server.key.tmp" 2048
    _persona_mail_run "openssl (server request)" openssl req -new -key "$d/server.key.tmp" \
        -subj "/O=Persona Platform tests/CN=mail.$_PERSONA_MAIL_DOMAIN" -out "$d/server.csr"
    _persona_mail_run "openssl (server certificate)" openssl x509 -req -in "$d/server.csr" \
        -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -sha256 -days 825 \
        -extfile "$ext" -out "$d/server.pem.tmp"
    chmod 0600 "$d/server.key.tmp" && chmod 0644 "$d/server.pem.tmp"
    mv "$d/server.key.tmp" "$d/server.key" && mv "$d/server.pem.tmp" "$d/server.pem" ||
        _persona_mail_die "cannot store the server certificate in $d"
    rm -f "$d/server.csr"
    _PERSONA_MAIL_RESTART=1
}

# Writes a file only when its content differs; a change asks for a restart.
_persona_mail_write() { # path mode owner content
    if [[ "$(cat "$1" 2>/dev/null)" != "$4" ]]; then
        _persona_mail_log "writing $1"
        printf '%s\n' "$4" >"$1.tmp" && chmod "$2" "$1.tmp" && chown "$3" "$1.tmp" &&
            mv "$1.tmp" "$1" || _persona_mail_die "cannot write $1"
        _PERSONA_MAIL_RESTART=1
    fi
}

_persona_mail_stop_daemons() {
    if postfix status >/dev/null 2>&1; then
        _persona_mail_run "postfix stop" postfix stop
    fi
    if [[ -f /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
        _persona_mail_run "dovecot stop" doveadm stop
    fi
    local i
    for ((i = 0; i < 100; i++)); do
        if ! pgrep -x dovecot >/dev/null && ! postfix status >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    _persona_mail_die "dovecot or postfix did not stop within 10 s"
}

# A real round trip: IMAPS login (and a refused wrong password), submission with STARTTLS + AUTH
# to a new address, the message in its INBOX through LMTP.
_persona_mail_selftest() { # gateway password
    local user="selftest-$$-$RANDOM@$_PERSONA_MAIL_DOMAIN"
    _persona_mail_log "self-test as $user"
    timeout 60 python3 - "$_MAIL_DIR/ca.pem" "$1" "$2" "$user" >>"$_MAIL_LOG" 2>&1 <<'EOF' ||
import imaplib, smtplib, ssl, sys, time
from email.message import EmailMessage
ca, gateway, password, user = sys.argv[1:]
context = ssl.create_default_context(cafile=ca)
for host in ("127.0.0.1", gateway):
    imap = imaplib.IMAP4_SSL(host, 993, ssl_context=context, timeout=10)
    try:
        imap.login(user, password + "x")
        sys.exit("a wrong password was accepted")
    except imaplib.IMAP4.error:
        pass
    imap.logout()
message = EmailMessage()
message["From"], message["To"], message["Subject"] = user, user, "self-test"
message.set_content("hello")
with smtplib.SMTP("127.0.0.1", 587, timeout=10) as smtp:
    smtp.starttls(context=context)
    smtp.login(user, password)
    smtp.send_message(message)
imap = imaplib.IMAP4_SSL("127.0.0.1", 993, ssl_context=context, timeout=10)
imap.login(user, password)
deadline = time.time() + 20
while time.time() < deadline:
    typ, data = imap.select("INBOX", readonly=True)
    if int(data[0]) >= 1:
        break
    time.sleep(0.1)
else:
    sys.exit("the submitted message did not reach the INBOX within 20 s")
typ, folders = imap.list()
names = b" ".join(folders)
for folder in (b"Sent", b"Archive", b"Trash", b"Junk"):
    if folder not in names:
        sys.exit("folder %s missing: %r" % (folder, folders))
imap.logout()
print("self-test ok")
EOF
        _persona_mail_die "self-test failed (login, submission or delivery)"
    rm -rf "${_PERSONA_MAIL_HOME:?}/$_PERSONA_MAIL_DOMAIN/${user%@*}"
}

_persona_mail_setup() { # gateway
    local gw="$1"
    mkdir -p "$_MAIL_DIR" "$_PERSONA_MAIL_LOGDIR" || {
        echo "ensure_mail_servers: cannot create $_MAIL_DIR or $_PERSONA_MAIL_LOGDIR" >&2
        exit 1
    }
    chmod 0700 "$_MAIL_DIR"
    exec 9>"$_MAIL_DIR/.lock"
    flock 9 || _persona_mail_die "flock failed"
    _persona_mail_log "---- ensure_mail_servers (pid $$, gateway $gw)"
    if ! declare -F ensure_apt_packages >/dev/null; then
        # shellcheck source=common.sh
        source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
    fi
    mail_preseed || _persona_mail_die "debconf-set-selections failed"
    ensure_apt_packages "${_PERSONA_MAIL_PACKAGES[@]}" >>"$_MAIL_LOG" 2>&1 ||
        _persona_mail_die "installing ${_PERSONA_MAIL_PACKAGES[*]} failed"
    if ! id -u vmail >/dev/null 2>&1; then
        _persona_mail_run "useradd vmail" useradd --system --user-group --no-create-home \
            --home-dir "$_PERSONA_MAIL_HOME" --shell /usr/sbin/nologin vmail
    fi
    mkdir -p "$_PERSONA_MAIL_HOME" && chown vmail:vmail "$_PERSONA_MAIL_HOME" &&
        chmod 0750 "$_PERSONA_MAIL_HOME" || _persona_mail_die "cannot prepare $_PERSONA_MAIL_HOME"
    if [[ ! -s "$_MAIL_DIR/password" ]]; then
        (umask 077 && openssl rand -hex 16 >"$_MAIL_DIR/password.tmp") &&
            mv "$_MAIL_DIR/password.tmp" "$_MAIL_DIR/password" || _persona_mail_die "cannot create the password"
    fi
    local password
    password="$(cat "$_MAIL_DIR/password")"
    _PERSONA_MAIL_RESTART=0
    _persona_mail_certs "$gw"
    _persona_mail_write /etc/dovecot/dovecot.conf 0640 root:dovecot "$(_persona_mail_dovecot_conf "$gw" "$password")"
    _persona_mail_write /etc/postfix/main.cf 0644 root:root "$(_persona_mail_main_cf "$gw")"
    _persona_mail_write /etc/postfix/master.cf 0644 root:root "$(_persona_mail_master_cf)"
    _persona_mail_listening "$gw" || _PERSONA_MAIL_RESTART=1
    if [[ $_PERSONA_MAIL_RESTART -eq 1 ]] || ! _persona_mail_greets 127.0.0.1 143 "* OK" ||
        ! _persona_mail_greets 127.0.0.1 25 "220 "; then
        _persona_mail_stop_daemons
        _persona_mail_run "doveconf check" sh -c "doveconf -n >/dev/null"
        _persona_mail_run "postfix check" postfix check
        # A socket left by a start with the penalty still on would be "refused" (and slow auth).
        rm -f /run/dovecot/anvil-auth-penalty
        _persona_mail_daemon dovecot || _persona_mail_die "dovecot did not start"
        _persona_mail_daemon postfix start || _persona_mail_die "postfix did not start"
        local i
        for ((i = 0; i < 150; i++)); do
            _persona_mail_listening "$gw" && break
            sleep 0.1
        done
        _persona_mail_listening "$gw" || _persona_mail_die "the servers do not listen on 127.0.0.1 and $gw (ports ${_PERSONA_MAIL_PORTS[*]}) within 15 s"
        _persona_mail_selftest "$gw" "$password"
    fi
    _persona_mail_ready "$gw" "$password" || _persona_mail_die "the servers do not answer after setup"
    _persona_mail_log "ready"
}

ensure_mail_servers() {
    _persona_mail_vars
    if [[ $EUID -ne 0 ]]; then
        echo "ensure_mail_servers: needs root (installs and starts postfix and dovecot)" >&2
        return 1
    fi
    local gw password=""
    gw="$(_persona_mail_gateway)"
    if [[ -z "$gw" ]]; then
        echo "ensure_mail_servers: no IPv4 address on docker0: start the Docker engine first" \
            "(scripts/docker-up); the mail servers also listen on the bridge gateway for containers" >&2
        return 1
    fi
    [[ -s "$_MAIL_DIR/password" ]] && password="$(cat "$_MAIL_DIR/password")"
    if ! _persona_mail_ready "$gw" "$password"; then
        ( _persona_mail_setup "$gw" ) || return 1
        password="$(cat "$_MAIL_DIR/password")"
    fi
    export PERSONA_TEST_MAIL_HOST=127.0.0.1
    export PERSONA_TEST_MAIL_GATEWAY="$gw"
    export PERSONA_TEST_MAIL_CA="$_MAIL_DIR/ca.pem"
    export PERSONA_TEST_MAIL_PASSWORD="$password"
    export PERSONA_TEST_MAIL_DOMAIN="$_PERSONA_MAIL_DOMAIN"
    echo "mail: dovecot IMAP 143 (STARTTLS, plaintext allowed) / IMAPS 993, postfix SMTP 25," \
        "submission 587 (STARTTLS) / 465 (TLS) on 127.0.0.1 and $gw; any <name>@$_PERSONA_MAIL_DOMAIN," \
        "password in $_MAIL_DIR/password, CA $PERSONA_TEST_MAIL_CA, logs $_PERSONA_MAIL_LOGDIR" >&2
}

stop_mail_servers() {
    _persona_mail_vars
    postfix status >/dev/null 2>&1 && postfix stop >/dev/null 2>&1
    if [[ -f /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
        doveadm stop >/dev/null 2>&1
    fi
    echo "mail: postfix and dovecot stopped (mailboxes in $_PERSONA_MAIL_HOME kept)" >&2
}
