#!/usr/bin/env bash
# Opens every HTML document of a run in headless Chromium (Debian's `chromium` package), prints each
# to PDF and a PNG screenshot, and checks in the browser's own DOM that no customer value became
# markup (no <script> element), and in the PDF that every page has text on it.
#
#   bash tests/browser/setup.sh                   # once: installs chromium and poppler-utils
#   bash tests/browser/check.sh [out/2026-11-26] [folder for PDFs and PNGs]
#
# Exits non-zero when the run folder is missing or holds no HTML document, when Chromium fails on
# a document, when a PDF has no page or a page without text, or when a <script> element appears.
set -euo pipefail
run_dir=${1:-out/2026-11-26}
shots=${2:-$(mktemp -d)}
if [ ! -d "$run_dir" ]; then
  echo "check.sh: run folder $run_dir does not exist" >&2
  exit 1
fi
mkdir -p "$shots"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)")
status=0
documents=0
while IFS= read -r html; do
  documents=$((documents + 1))
  name=$(echo "${html#"$run_dir"/}" | tr '/' '_'); name=${name%.html}
  url="file://$(realpath "$html")"
  if ! chromium "${flags[@]}" --print-to-pdf="$shots/$name.pdf" --no-pdf-header-footer "$url" 2>/dev/null; then
    echo "$html: Chromium failed to print it" >&2
    status=1
    continue
  fi
  chromium "${flags[@]}" --screenshot="$shots/$name.png" --window-size=1280,2400 "$url" 2>/dev/null || status=1
  dom=$(chromium "${flags[@]}" --dump-dom "$url" 2>/dev/null || true)
  pages=$(pdfinfo "$shots/$name.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
  pages=${pages:-0}
  scripts=$(grep -c '<script' <<<"$dom" || true)
  blank=0
  for ((p = 1; p <= pages; p++)); do
    words=$(pdftotext -f "$p" -l "$p" "$shots/$name.pdf" - 2>/dev/null | wc -w)
    [ "$words" -gt 0 ] || blank=$((blank + 1))
  done
  echo "$html: $pages PDF pages ($blank without text), $scripts <script> elements, screenshot $shots/$name.png"
  if [ "$pages" -lt 1 ] || [ "$blank" -ne 0 ] || [ "$scripts" -ne 0 ] || [ -z "$dom" ]; then status=1; fi
  pdftoppm -png -r 60 -f 1 -l 2 "$shots/$name.pdf" "$shots/$name-page" || true
done < <(find "$run_dir" -name '*.html' | sort)
if [ "$documents" -eq 0 ]; then
  echo "check.sh: no HTML document under $run_dir" >&2
  exit 1
fi
echo "$documents HTML documents checked"
exit $status
