# Shared helpers for the project's scripts. Source it; it sets no shell options.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PERSONA_CACHE_DIR=${PERSONA_CACHE_DIR:-$REPO/.cache}
mkdir -p "$PERSONA_CACHE_DIR"

_phase_name=""
_phase_start=0

# phase NAME: prints how long the previous phase took and starts timing NAME.
phase() {
  local now
  now=$(date +%s)
  if [ -n "$_phase_name" ]; then
    echo "==> phase '$_phase_name' took $((now - _phase_start))s"
  fi
  _phase_name=${1:-}
  _phase_start=$now
  [ -n "$_phase_name" ] && echo "==> $_phase_name"
  return 0
}

_apt_updated=0
# ensure_apt_packages PKG...: installs the Debian packages that are missing.
ensure_apt_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  if [ "$_apt_updated" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_swift: puts the Swift toolchain on PATH or explains what is missing.
ensure_swift() {
  if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH=/opt/swift/usr/bin:$PATH
  fi
  if ! command -v swift >/dev/null 2>&1; then
    echo "Swift 6 is required (https://www.swift.org/install/linux/); put 'swift' on PATH and run again." >&2
    return 1
  fi
}

# ensure_python_module MODULE PIP_SPEC: installs a Python package from PyPI if the module is missing.
ensure_python_module() {
  python3 -c "import $1" 2>/dev/null && return 0
  python3 -m pip install -q "$2"
}
