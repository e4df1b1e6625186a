#!/usr/bin/env bash
# Make sure a system Chromium is available for the browser test tier (tests/browser).
#
# Idempotent: when Chromium is already installed this prints one line (its version) and
# exits 0. Otherwise it installs Debian's `chromium` package with apt-get, non-interactively.
# It never runs `playwright install`: the tests drive the system browser at $CHROMIUM.
#
# Usage: scripts/ensure_browser.sh        (CHROMIUM=/path/to/chromium to check another binary)
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

die() {
    echo "ensure_browser: $*" >&2
    exit 1
}

chromium_version() {
    # --version does not start a browser; it works as root and without a display.
    "$CHROMIUM" --version 2>/dev/null | head -n 1
}

if [[ -x "$CHROMIUM" ]] && version="$(chromium_version)" && [[ -n "$version" ]]; then
    echo "$version"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 \
    || die "$CHROMIUM not found and apt-get is unavailable; install Chromium by hand" \
        "(the browser tests expect it at $CHROMIUM)."

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    die "$CHROMIUM not found and cannot install it: not root and no passwordless sudo." \
        "Run as root: apt-get update && apt-get install -y chromium"
fi

echo "ensure_browser: $CHROMIUM not found; installing Debian's chromium package..." >&2
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get could not install chromium (see the output above)."
fi

[[ -x "$CHROMIUM" ]] || die "chromium was installed but $CHROMIUM does not exist."
version="$(chromium_version)" || true
[[ -n "$version" ]] || die "$CHROMIUM is installed but '$CHROMIUM --version' failed."
echo "$version"
