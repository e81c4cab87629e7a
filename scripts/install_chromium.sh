#!/usr/bin/env bash
# Headless Chromium for tests/test_browser.py and scripts/screenshot.sh: Debian's `chromium` package, when missing.
# Needs root (or sudo) and the Debian mirror; .ci/run calls it before the tests.
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then
    exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
command -v apt-get >/dev/null || { echo "install_chromium: no apt-get here: install Chromium by hand" >&2; exit 1; }
echo "Installing Debian's chromium (apt-get) for the browser test and screenshots: about a minute"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
echo "install_chromium: $(chromium --version 2>/dev/null | head -1)"
