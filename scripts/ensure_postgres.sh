#!/usr/bin/env bash
# Make sure PostgreSQL's server programs are installed for the store tests (tests/conftest.py
# starts a private server in a temporary folder; nothing is started here).
#
# Idempotent: when initdb is found this prints one line (its version) and exits 0. Otherwise it
# installs Debian's `postgresql` package with apt-get, non-interactively.
set -euo pipefail

die() {
    echo "ensure_postgres: $*" >&2
    exit 1
}

find_initdb() {
    command -v initdb 2>/dev/null && return 0
    local found
    found="$(ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$found" ]] && echo "$found"
}

if initdb="$(find_initdb)"; then
    "$initdb" --version
    exit 0
fi

echo "ensure_postgres: initdb not found." >&2
# shellcheck source=scripts/apt_install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
apt_install ensure_postgres postgresql || die "the store tests need a PostgreSQL server."
initdb="$(find_initdb)" || die "postgresql was installed but initdb was not found."
"$initdb" --version
