#!/usr/bin/env bash
# The ipywidgets embed scripts that the built book serves itself (no CDN): RequireJS and @jupyter-widgets/html-manager
# (dist/embed-amd.js with the fonts it loads), unpacked into _vendor/widgets/ (git-ignored). `make book` runs this;
# _config.yml points myst-nb's nb_ipywidgets_js at _static/widgets/. The npm tarballs are kept in
# $FA_LAB_WIDGETS_JS (default ~/.cache/fa_lab/widgets-js), so later builds need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
HTML_MANAGER=1.0.6   # the version myst-nb 1.4 loads from its CDN by default: it reads ipywidgets 8 widget state
REQUIREJS=2.3.4
OUT=_vendor/widgets
CACHE=${FA_LAB_WIDGETS_JS:-$HOME/.cache/fa_lab/widgets-js}
HM_TGZ="$CACHE/jupyter-widgets-html-manager-$HTML_MANAGER.tgz"
RJ_TGZ="$CACHE/requirejs-$REQUIREJS.tgz"
STAMP="$OUT/.versions"
WANT="html-manager $HTML_MANAGER, requirejs $REQUIREJS"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -f "$OUT/embed-amd.js" ] && [ -f "$OUT/require.js" ]; then
    exit 0
fi
if [ ! -s "$HM_TGZ" ] || [ ! -s "$RJ_TGZ" ]; then
    command -v npm >/dev/null || { echo "vendor_widgets_js: npm not found (needed once to fetch the widget scripts)" >&2; exit 1; }
    echo "Fetching the widget scripts for the book with npm (@jupyter-widgets/html-manager@$HTML_MANAGER, requirejs@$REQUIREJS)"
    mkdir -p "$CACHE"
    (cd "$CACHE" && npm pack --silent "@jupyter-widgets/html-manager@$HTML_MANAGER" "requirejs@$REQUIREJS" >/dev/null) || {
        echo "vendor_widgets_js: npm pack failed: the book's widgets need these scripts (see README, 'Offline')" >&2
        exit 1
    }
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/hm" "$TMP/rj"
tar xzf "$HM_TGZ" -C "$TMP/hm" --strip-components=1
tar xzf "$RJ_TGZ" -C "$TMP/rj" --strip-components=1
rm -rf "$OUT" && mkdir -p "$OUT"
# embed-amd.js and the font files it references by name (webpack puts them beside it); not the CommonJS build or maps
find "$TMP/hm/dist" -maxdepth 1 -type f \( -name 'embed-amd.js' -o -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' \
    -o -name '*.eot' -o -name '*.svg' \) -exec cp {} "$OUT/" \;
cp "$TMP/rj/require.js" "$OUT/require.js"
cp "$TMP/hm/LICENSE" "$OUT/LICENSE.html-manager"
echo "$WANT" > "$STAMP"
echo "vendor_widgets_js: $OUT ($(du -sh "$OUT" | cut -f1)): $WANT"
