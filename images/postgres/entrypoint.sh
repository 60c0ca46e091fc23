#!/bin/sh
# Entrypoint of persona-platform/postgres-pgvector:16. On an empty $PGDATA it makes the cluster:
# superuser $POSTGRES_USER (default postgres) with $POSTGRES_PASSWORD (required), the database
# $POSTGRES_DB (default: the user's name) with the vector extension, scram-sha-256 for every TCP
# client and trust only on the container's own unix socket. Then it runs the server as PID 1,
# listening on every address of the container (publish the port on loopback only, or not at all).
# Runs as the image's `postgres` user; a data directory it cannot write is reported, not fixed.
set -eu

# `postgres [options]` or bare options run the server; any other command runs as given.
case "${1:-postgres}" in
    postgres) [ "$#" -gt 0 ] && shift ;;
    -*) ;;
    *) exec "$@" ;;
esac

if [ "$(id -u)" = 0 ]; then
    echo "persona-postgres: refusing to run the server as root; run as the image's postgres user" >&2
    exit 1
fi

: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "persona-postgres: POSTGRES_PASSWORD is required to initialise $PGDATA" >&2
        exit 1
    fi
    if ! touch "$PGDATA/.writable" 2>/dev/null; then
        echo "persona-postgres: $PGDATA is not writable by uid $(id -u); chown it to 999:999" >&2
        exit 1
    fi
    rm -f "$PGDATA/.writable"
    chmod 0700 "$PGDATA"
    setup=$(mktemp -d /tmp/persona-pg-setup.XXXXXX)
    pwfile="$setup/password"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >"$setup/initdb.log" 2>&1 || {
        cat "$setup/initdb.log" >&2
        exit 1
    }
    rm -f "$pwfile"
    # initdb's host lines cover loopback; clients come from the compose network.
    printf '%s\n' 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
    cat >>"$PGDATA/postgresql.conf" <<'EOF'
# persona-platform/postgres-pgvector
listen_addresses = '*'
password_encryption = 'scram-sha-256'
unix_socket_directories = '/var/run/postgresql'
EOF
    # The set-up server: no TCP, a private socket directory (the health check stays unhealthy).
    pg_ctl -D "$PGDATA" -w -t 60 -l "$setup/setup.log" \
        -o "-c listen_addresses='' -c unix_socket_directories='$setup'" start >/dev/null || {
        cat "$setup/setup.log" >&2
        exit 1
    }
    if [ "$database" != postgres ]; then
        psql -X -q -v ON_ERROR_STOP=1 -h "$setup" -U "$user" -d postgres \
            -c "CREATE DATABASE \"$database\""
    fi
    psql -X -q -v ON_ERROR_STOP=1 -h "$setup" -U "$user" -d "$database" -c 'CREATE EXTENSION IF NOT EXISTS vector'
    pg_ctl -D "$PGDATA" -w -t 60 -m fast stop >/dev/null
    rm -rf "$setup"
    echo "persona-postgres: initialised $PGDATA (user $user, database $database, vector extension)" >&2
fi

exec postgres -D "$PGDATA" "$@"
