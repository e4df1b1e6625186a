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

echo "ensure_browser: $CHROMIUM not found." >&2
# shellcheck source=scripts/apt_install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
apt_install ensure_browser chromium || die "the browser tests expect Chromium at $CHROMIUM."

[[ -x "$CHROMIUM" ]] || die "chromium was installed but $CHROMIUM does not exist."
version="$(chromium_version)" || true
[[ -n "$version" ]] || die "$CHROMIUM is installed but '$CHROMIUM --version' failed."
echo "$version"
