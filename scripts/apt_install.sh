#!/usr/bin/env bash
# Shared by the ensure_* scripts: install Debian packages non-interactively, as root or with
# passwordless sudo, showing apt's output only when it fails.
#
# Usage (sourced): apt_install WHO PACKAGE...    (WHO names the caller in messages)

apt_install() {
    local who="$1"
    shift
    command -v apt-get >/dev/null 2>&1 \
        || { echo "$who: apt-get is unavailable; install $* by hand." >&2; return 1; }
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "$who: cannot install $*: not root and no passwordless sudo." \
                "Run as root: apt-get update && apt-get install -y $*" >&2
            return 1
        fi
    fi
    echo "$who: installing Debian's $* ..." >&2
    local log
    log="$(mktemp)"
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } \
        >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        rm -f "$log"
        echo "$who: apt-get could not install $* (see the output above)." >&2
        return 1
    fi
    rm -f "$log"
}
