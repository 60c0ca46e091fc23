# shellcheck shell=bash
# Source this file, then call `ensure_docker_engine`.
#
# Makes sure a Docker engine answers on a unix socket and exports
# DOCKER_SOCKET_PATH and DOCKER_HOST for the caller. If an engine already
# answers at $DOCKER_SOCKET_PATH (default /var/run/docker.sock) it is used as
# is; otherwise Debian's `docker.io` is installed and `dockerd` is started in
# the background with its own data root, exec root, pid file and log file.
#
# Tunables (environment):
#   DOCKER_SOCKET_PATH    socket to use or create   (/var/run/docker.sock)
#   PERSONA_DOCKER_ROOT   state of a dockerd we start (/var/lib/persona-docker)
#   PERSONA_DOCKER_EXEC   its exec root               (/run/persona-docker)
#   DOCKER_START_TIMEOUT  seconds to wait for _ping   (60)
#   PERSONA_DOCKER_TLS_PORT  loopback port of a mutual-TLS listener on a dockerd
#                         we start, for the client's TLS tests (23760; 0 = none)
#
# When that TLS listener answers, DOCKER_TLS_TEST_HOST and DOCKER_TLS_TEST_CERT_PATH
# (ca.pem, cert.pem, key.pem) are exported too.

set -euo pipefail

_docker_log() { printf '[docker] %s\n' "$*" >&2; }

# Prints "OK" when an engine answers _ping on the given socket.
_docker_ping() {
    local sock="$1"
    [[ -S "$sock" ]] || return 1
    curl --silent --show-error --fail --max-time 3 \
        --unix-socket "$sock" http://localhost/_ping 2>/dev/null
}

# Runs `apt-get update` at most once per shell.
_apt_updated=""
_apt_update_once() {
    if [[ -z "$_apt_updated" ]]; then
        _docker_log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        _apt_updated=1
    fi
}

# Installs Debian packages that are not installed yet.
apt_ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    _apt_update_once
    _docker_log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}

# Makes a CA, a server certificate for 127.0.0.1/localhost and a client certificate
# under $1 (once). Layout: $1/{ca,server-cert,server-key}.pem, $1/client/{ca,cert,key}.pem.
_docker_tls_material() {
    local dir="$1"
    [[ -f "$dir/client/key.pem" ]] && return 0
    command -v openssl >/dev/null || apt_ensure_packages openssl
    mkdir -p "$dir/client"
    (
        cd "$dir"
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=persona-test-ca" \
            -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout server-key.pem -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
            -extfile server.ext -out server-cert.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=persona-test-client" \
            -keyout client/key.pem -out client.csr 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
            -extfile client.ext -out client/cert.pem 2>/dev/null
        cp ca.pem client/ca.pem
        rm -f ./*.csr ./*.ext
    )
}

ensure_docker_engine() {
    local sock="${DOCKER_SOCKET_PATH:-/var/run/docker.sock}"
    local root="${PERSONA_DOCKER_ROOT:-/var/lib/persona-docker}"
    local exec_root="${PERSONA_DOCKER_EXEC:-/run/persona-docker}"
    local timeout="${DOCKER_START_TIMEOUT:-60}"
    local pidfile="$exec_root.pid" logfile="$root.log"
    local tls_port="${PERSONA_DOCKER_TLS_PORT:-23760}" tls_dir="$root.tls"

    command -v curl >/dev/null || apt_ensure_packages curl ca-certificates

    if [[ "$(_docker_ping "$sock" || true)" == "OK" ]]; then
        _docker_log "engine already answers at $sock"
    else
        # dockerd from Debian; iptables, containerd and runc come as its dependencies.
        command -v dockerd >/dev/null || apt_ensure_packages docker.io
        command -v curl >/dev/null || apt_ensure_packages curl

        if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            _docker_log "dockerd (pid $(cat "$pidfile")) is running but does not answer yet"
        else
            rm -f "$pidfile"
            # A stale socket from a previous dockerd would make the new one fail to bind.
            [[ -S "$sock" ]] && rm -f "$sock"
            mkdir -p "$root" "$exec_root" "$(dirname "$sock")"
            local tls_args=()
            if [[ "$tls_port" != "0" ]]; then
                _docker_tls_material "$tls_dir"
                # Loopback only, and only for clients holding a certificate from our CA.
                tls_args=(--tlsverify --tlscacert "$tls_dir/ca.pem" --tlscert "$tls_dir/server-cert.pem"
                    --tlskey "$tls_dir/server-key.pem" -H "tcp://127.0.0.1:$tls_port")
            fi
            _docker_log "starting dockerd on unix://$sock (log: $logfile)"
            # setsid: dockerd must outlive the shell that started it and not get its signals.
            setsid dockerd \
                --data-root "$root" \
                --exec-root "$exec_root" \
                --pidfile "$pidfile" \
                -H "unix://$sock" \
                "${tls_args[@]}" \
                >>"$logfile" 2>&1 </dev/null &
            disown || true
        fi

        local waited=0
        until [[ "$(_docker_ping "$sock" || true)" == "OK" ]]; do
            if ((waited >= timeout * 2)); then
                _docker_log "ERROR: dockerd did not answer _ping on $sock within ${timeout}s"
                _docker_log "last lines of $logfile:"
                tail -n 30 "$logfile" >&2 || true
                return 1
            fi
            sleep 0.5
            waited=$((waited + 1))
        done
        _docker_log "engine answers at $sock after ~$((waited / 2))s"
    fi

    export DOCKER_SOCKET_PATH="$sock"
    export DOCKER_HOST="unix://$sock"

    if [[ "$tls_port" != "0" && -f "$tls_dir/client/key.pem" ]] &&
        curl --silent --fail --max-time 3 --cacert "$tls_dir/client/ca.pem" \
            --cert "$tls_dir/client/cert.pem" --key "$tls_dir/client/key.pem" \
            "https://127.0.0.1:$tls_port/_ping" >/dev/null 2>&1; then
        export DOCKER_TLS_TEST_HOST="tcp://127.0.0.1:$tls_port"
        export DOCKER_TLS_TEST_CERT_PATH="$tls_dir/client"
    fi
}
