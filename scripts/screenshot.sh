#!/usr/bin/env bash
# Screenshot of one built experiment page of the book (headless Chromium): docs/screenshot_experiment4.png
#   make book && scripts/screenshot.sh [page] [output]
# Installs Debian's chromium when missing (needs root and network access to the Debian mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
PAGE=${1:-_build/html/book/10_experiment4.html}
OUT=${2:-docs/screenshot_experiment4.png}
if [ ! -f "$PAGE" ]; then
    echo "screenshot: $PAGE not found; build the book first: make book" >&2
    exit 1
fi
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROMIUM" ]; then
    echo "screenshot: installing chromium (apt-get)" >&2
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    CHROMIUM=$(command -v chromium)
fi
mkdir -p "$(dirname "$OUT")"
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
# the widgets' JavaScript comes from a CDN: give it time to load where the network allows, render without it otherwise
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$PROFILE" --hide-scrollbars --virtual-time-budget=15000 \
    --screenshot="$PWD/$OUT" --window-size=1280,2400 "file://$PWD/$PAGE" 2>/dev/null || true
test -s "$OUT" || { echo "screenshot: chromium wrote no $OUT" >&2; exit 1; }
echo "wrote $OUT ($(du -k "$OUT" | cut -f1) KiB)"
