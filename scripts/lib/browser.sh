# shellcheck shell=bash
# scripts/lib/browser.sh -- a real browser for the console's tests (issue 18): Debian's chromium
# driven by Playwright for Python, with axe-core (axe-playwright-python) for accessibility.
#
# Source it (after scripts/lib/common.sh), then call:
#   ensure_browser   installs Debian's `chromium` (apt, once), creates the venv
#                    $PERSONA_CACHE_DIR/browser-venv with the pinned packages below (once), and
#                    exports the variables below. Idempotent and quiet: when everything is in
#                    place it is one `python -c import` check. Never runs `playwright install`:
#                    no browser is downloaded; the tests launch Debian's chromium through
#                    Playwright's executable_path.
#
# Exported after success:
#   PERSONA_TEST_CHROMIUM=/usr/lib/chromium/chromium   the browser binary itself (Debian's
#                       /usr/bin/chromium is a shell wrapper that adds extension and GPU flags and
#                       sources /etc/chromium.d; Playwright passes its own flags)
#   PERSONA_TEST_BROWSER_PYTHON=<cache>/browser-venv/bin/python   the venv's python (playwright,
#                       axe_playwright_python importable)
#
# Environment (optional): PERSONA_CACHE_DIR (default $REPO/.cache), PYTHON (default python3).
# This file sets no shell options; it is safe under `set -euo pipefail`.

# Pinned: playwright 1.65.2 is also what images/persona-desktop uses.
_PERSONA_BROWSER_PIP_SPECS=(playwright==1.65.2 axe-playwright-python==0.1.8)

ensure_browser() {
    local cache="${PERSONA_CACHE_DIR:-${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/.cache}"
    local venv="$cache/browser-venv"
    local py="${PYTHON:-python3}"
    local stamp="$venv/.persona-specs"
    local want="${_PERSONA_BROWSER_PIP_SPECS[*]}"

    # python3-venv: Debian's python3 has no ensurepip without it.
    ensure_apt_packages chromium python3-venv || return 1

    local chromium=/usr/lib/chromium/chromium
    [[ -x "$chromium" ]] || chromium=$(command -v chromium || true)
    if [[ -z "$chromium" || ! -x "$chromium" ]]; then
        echo "ensure_browser: Debian's chromium is not installed (no /usr/lib/chromium/chromium)" >&2
        return 1
    fi

    if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]] ||
        ! "$venv/bin/python" -c "import playwright.sync_api, axe_playwright_python.sync_playwright" 2>/dev/null; then
        rm -rf "$venv"
        "$py" -m venv "$venv" || { echo "ensure_browser: '$py -m venv' failed" >&2; return 1; }
        if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q "${_PERSONA_BROWSER_PIP_SPECS[@]}"; then
            echo "ensure_browser: pip install ${_PERSONA_BROWSER_PIP_SPECS[*]} failed" >&2
            return 1
        fi
        printf '%s' "$want" >"$stamp"
    fi

    export PERSONA_TEST_CHROMIUM="$chromium"
    export PERSONA_TEST_BROWSER_PYTHON="$venv/bin/python"
}
