#!/usr/bin/env bash
# Offline screenshots of the built book (headless Chromium, no network: scripts/headless_chromium.py).
#   make book && scripts/screenshot.sh --all                # intro and chapters 4, 7, 10, 12 -> docs/screenshots/
#   scripts/screenshot.sh [page] [output] [anchor]          # one page, e.g. book/10_experiment4.html out.png rerun-it
# WIDTH (default 1280) and HEIGHT (default 2400) set the size. Installs Debian's chromium when missing
# (scripts/install_chromium.sh: root and the Debian mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
WIDTH=${WIDTH:-1280}
HEIGHT=${HEIGHT:-2400}
if [ ! -f _build/html/book/intro.html ]; then
    echo "screenshot: _build/html not found; build the book first: make book" >&2
    exit 1
fi
scripts/install_chromium.sh
shot() {  # page output [anchor]
    "$PY" scripts/headless_chromium.py screenshot "$1" "$2" --width "$WIDTH" --height "${4:-$HEIGHT}" --anchor "${3-}"
}
if [ "${1-}" = "--all" ]; then
    mkdir -p docs/screenshots
    shot book/intro.html docs/screenshots/intro.png "" 1600
    shot book/04_direct_feedback_alignment.html docs/screenshots/04_direct_feedback_alignment.png
    shot book/07_experiment1.html docs/screenshots/07_experiment1.png
    shot book/10_experiment4.html docs/screenshots/10_experiment4.png
    shot book/10_experiment4.html docs/screenshots/10_experiment4_panel.png rerun-it 1600
    shot book/12_replication_report.html docs/screenshots/12_replication_report.png
else
    shot "${1:-book/10_experiment4.html}" "${2:-docs/screenshots/10_experiment4.png}" "${3-}"
fi
