#!/usr/bin/env bash
# Screenshot of one built experiment page of the book (headless Chromium): docs/screenshot_experiment4.png
#   make book && scripts/screenshot.sh [page] [output] [anchor]
# Installs Debian's chromium when missing (needs root and network access to the Debian mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
PAGE=${1:-_build/html/book/10_experiment4.html}
OUT=${2:-docs/screenshot_experiment4.png}
ANCHOR=${3-}   # e.g. "#rerun-it" to open the page at the live panel
# the page is tall: 3400 px (HEIGHT) reaches the live panel of the experiment pages
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
SITE=$(mktemp -d)
trap 'rm -rf "$PROFILE" "$SITE"' EXIT
# The pages load RequireJS and the ipywidgets html-manager from CDNs. Where the CDNs cannot be reached
# (offline CI), use local copies fetched once with npm and point a copy of the site at them.
cp -r _build/html/. "$SITE/"
TARGET="$SITE/${PAGE#_build/html/}"
if ! timeout 5 curl -sfI https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/dist/embed-amd.js >/dev/null 2>&1; then
    JS=${FA_LAB_WIDGETS_JS:-$HOME/.cache/fa_lab/widgets-js}
    if [ ! -f "$JS/html-manager/dist/embed-amd.js" ] && command -v npm >/dev/null; then
        mkdir -p "$JS" && (cd "$JS" && npm pack --silent @jupyter-widgets/html-manager@1.0.6 requirejs@2.3.4 >/dev/null \
            && mkdir -p html-manager requirejs \
            && tar xzf jupyter-widgets-html-manager-1.0.6.tgz -C html-manager --strip-components=1 \
            && tar xzf requirejs-2.3.4.tgz -C requirejs --strip-components=1) || echo "screenshot: npm pack failed" >&2
    fi
    if [ -f "$JS/html-manager/dist/embed-amd.js" ]; then
        cp -r "$JS/html-manager/dist" "$SITE/_widgets_js" && cp "$JS/requirejs/require.js" "$SITE/_widgets_js/"
        REL=$(python3 -c "import os,sys; print(os.path.relpath(sys.argv[1], os.path.dirname(sys.argv[2])))" "$SITE/_widgets_js" "$TARGET")
        sed -i -e "s#https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js#$REL/require.js#" \
               -e "s#https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/dist/embed-amd.js#$REL/embed-amd.js#" \
               -e "s# crossorigin=\"anonymous\"##g" -e "s# integrity=\"sha256-[^\"]*\"##g" "$TARGET"  # local copies: no SRI/CORS
        echo "screenshot: CDN unreachable, using local widget JavaScript from $JS" >&2
    else
        echo "screenshot: CDN unreachable and no local widget JavaScript: widgets will not render" >&2
    fi
fi
# the widgets' JavaScript comes from a CDN: give it time to load where the network allows, render without it otherwise
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$PROFILE" --hide-scrollbars --virtual-time-budget=15000 \
    --allow-file-access-from-files --screenshot="$PWD/$OUT" --window-size=1280,${HEIGHT:-3400} "file://$TARGET$ANCHOR" 2>/dev/null || true
test -s "$OUT" || { echo "screenshot: chromium wrote no $OUT" >&2; exit 1; }
echo "wrote $OUT ($(du -k "$OUT" | cut -f1) KiB)"
