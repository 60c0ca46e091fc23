# shellcheck shell=bash
# Source this file (after docker.sh), then call `ensure_base_image`.
#
# No registry is reachable here, so `debian:bookworm-slim` is made locally:
# debootstrap a minbase bookworm from the machine's Debian mirror, add the
# updates and security suites, keep downloaded .debs out of image layers, and
# `docker import` the result. The rootfs tarball is cached under ./.cache
# (gitignored) so later runs only import it.
#
# Tunables (environment):
#   BASE_IMAGE_TAG     image to ensure              (debian:bookworm-slim)
#   PERSONA_CACHE_DIR  where the tarball is cached  (<repo>/.cache)
#   DEBIAN_MIRROR      mirror URL                   (read from /etc/apt/sources.list*)

set -euo pipefail

_base_log() { printf '[base-image] %s\n' "$*" >&2; }

# Prints every repository URL in apt's sources (one-line and deb822 formats).
_apt_source_urls() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        # One-line: "deb [opts] URL suite comps"; deb822: "URIs: URL".
        sed -nE \
            -e 's#^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([a-z]+://[^[:space:]]+).*#\2#p' \
            -e 's#^[[:space:]]*URIs:[[:space:]]*([a-z]+://[^[:space:]]+).*#\1#p' "$f"
    done | sed -E 's#/+$##'
}

# Prints the machine's Debian mirror, e.g. http://deb.debian.org/debian.
debian_mirror_url() {
    local url
    url="$(_apt_source_urls | grep -E '/debian$' | head -n 1 || true)"
    printf '%s\n' "${DEBIAN_MIRROR:-${url:-http://deb.debian.org/debian}}"
}

# Prints the machine's debian-security mirror, or derives it from the main one.
debian_security_url() {
    local url
    url="$(_apt_source_urls | grep -E '/debian-security$' | head -n 1 || true)"
    printf '%s\n' "${url:-$(debian_mirror_url)-security}"
}

# Writes the bookworm sources and the apt settings a container image wants.
_base_configure_rootfs() {
    local dir="$1" mirror="$2" security
    security="$(debian_security_url)"
    cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
    # Same effect as the docker-clean file of Debian's official images: no .deb
    # files and no package lists left behind in a layer.
    cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" <<'EOF'
force-unsafe-io
EOF
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    : >"$dir/etc/hostname"
    : >"$dir/etc/resolv.conf"
}

# Builds the rootfs tarball at $1 with debootstrap.
_base_build_tarball() {
    local tarball="$1" mirror dir
    mirror="$(debian_mirror_url)"
    apt_ensure_packages debootstrap
    dir="$(mktemp -d /tmp/persona-rootfs.XXXXXX)"
    # shellcheck disable=SC2064
    trap "rm -rf '$dir'" RETURN
    _base_log "debootstrap --variant=minbase bookworm $dir $mirror"
    local start=$SECONDS
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
        _base_log "ERROR: debootstrap failed; last lines of $dir.log:"
        tail -n 30 "$dir.log" >&2
        return 1
    fi
    _base_configure_rootfs "$dir" "$mirror"
    mkdir -p "$(dirname "$tarball")"
    tar --numeric-owner -C "$dir" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -f "$dir.log"
    _base_log "rootfs tarball $tarball ($(du -h "$tarball" | cut -f1)) in $((SECONDS - start))s"
}

ensure_base_image() {
    local tag="${BASE_IMAGE_TAG:-debian:bookworm-slim}"
    local sock="${DOCKER_SOCKET_PATH:-/var/run/docker.sock}"
    local repo_root cache tarball
    repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    cache="${PERSONA_CACHE_DIR:-$repo_root/.cache}"
    tarball="$cache/rootfs-bookworm-minbase.tar"

    # The Engine API is enough here; the docker CLI is optional on this machine.
    local code
    code="$(curl --silent --output /dev/null --write-out '%{http_code}' \
        --unix-socket "$sock" "http://localhost/images/$tag/json")"
    if [[ "$code" == "200" ]]; then
        _base_log "$tag already present"
        return 0
    fi
    [[ -f "$tarball" ]] || _base_build_tarball "$tarball"

    _base_log "importing $tarball as $tag"
    if command -v docker >/dev/null; then
        DOCKER_HOST="unix://$sock" docker import - "$tag" <"$tarball" >/dev/null
    else
        # No CLI: the same import through the Engine API, streaming the file.
        local repo="${tag%:*}" ref="${tag##*:}" out
        out="$(curl --silent --show-error --fail-with-body --unix-socket "$sock" \
            -X POST -H 'Content-Type: application/x-tar' -T "$tarball" \
            "http://localhost/images/create?fromSrc=-&repo=$repo&tag=$ref")" || {
            _base_log "ERROR: import failed: $out"
            return 1
        }
        if grep -q '"error' <<<"$out"; then
            _base_log "ERROR: import failed: $out"
            return 1
        fi
    fi
    _base_log "$tag imported"
}
