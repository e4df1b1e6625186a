#!/usr/bin/env bash
# Make sure the system has what PDF reports need: Pango (WeasyPrint lays text out with it),
# a font family fontconfig can find (DejaVu), and poppler's pdftotext (the PDF tests read the
# text of the reports they write).
#
# Idempotent: when everything is there this prints one line and exits 0. Otherwise it installs
# the missing Debian packages with apt-get, non-interactively.
#
# Usage: scripts/ensure_pdf.sh
set -euo pipefail

die() {
    echo "ensure_pdf: $*" >&2
    exit 1
}

have_library() {
    # ldconfig knows every shared library the dynamic loader can find.
    ldconfig -p 2>/dev/null | grep -q "$1"
}

have_dejavu() {
    command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q "DejaVu Sans"
}

missing() {
    local wanted=()
    have_library "libpango-1.0.so.0" || wanted+=(libpango-1.0-0)
    have_library "libpangoft2-1.0.so.0" || wanted+=(libpangoft2-1.0-0)
    have_dejavu || wanted+=(fonts-dejavu-core fontconfig)
    command -v pdftotext >/dev/null 2>&1 || wanted+=(poppler-utils)
    echo "${wanted[@]}"
}

read -r -a needed <<<"$(missing)"
if [[ ${#needed[@]} -eq 0 ]]; then
    echo "PDF reports: Pango, DejaVu fonts and $(pdftotext -v 2>&1 | head -n 1) are available"
    exit 0
fi

echo "ensure_pdf: missing ${needed[*]}." >&2
# shellcheck source=scripts/apt_install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
apt_install ensure_pdf "${needed[@]}" || die "PDF reports and their tests need ${needed[*]}."

read -r -a still <<<"$(missing)"
[[ ${#still[@]} -eq 0 ]] || die "installed ${needed[*]}, but ${still[*]} still cannot be found."
echo "PDF reports: Pango, DejaVu fonts and $(pdftotext -v 2>&1 | head -n 1) are available"
