#!/usr/bin/env bash
# Installs what tests/browser/check.sh needs (Debian's Chromium and poppler's PDF tools), once.
# Run as root on a Debian machine; does nothing when both are already there.
set -euo pipefail
if command -v chromium >/dev/null && command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium poppler-utils >/dev/null
