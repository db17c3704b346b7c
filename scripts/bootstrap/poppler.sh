#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures poppler's command-line tools (Debian package `poppler-utils`) are on PATH:
# `pdftotext` turns rendered invoice PDFs back into text for the tests, `pdftoppm`
# renders them to images for a look by eye.
#
# Usage: scripts/bootstrap/poppler.sh
# Needs root (or passwordless sudo) the first time, to install the package.
# Idempotent: when pdftotext is already there it only checks.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/../lib/common.sh"

case "${1:-}" in
  "") ;;
  -h | --help)
    print_header_help "${BASH_SOURCE[0]}"
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: $0)" ;;
esac

# `pdftotext -v` prints e.g. "pdftotext version 22.02.0" to stderr.
poppler_version() { pdftotext -v 2>&1 | awk '/version/ {print $3; exit}'; }

step "Poppler: checking pdftotext"
if have pdftotext; then
  info "installed ($(poppler_version))"
  exit 0
fi

step "Poppler: installing the Debian package 'poppler-utils'"
apt_install poppler-utils
have pdftotext || die "pdftotext is still not on PATH after installing the 'poppler-utils' package"
info "installed ($(poppler_version))"
