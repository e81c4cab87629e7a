"""The built book in a real browser, offline: headless Chromium (Debian's ``chromium``) over ``_build/html``.

The book is served on 127.0.0.1 and Chromium can reach nothing else (scripts/headless_chromium.py), as for a reader
with no network. Every page of the TOC must load; every equation must be typeset by the MathJax the book ships (no raw
TeX left); every image must load (naturalWidth > 0); every stored widget view must render from the widget scripts the
book ships.

Skipped when the book is not built or chromium is missing, except under CI (``CI`` set), where either is a failure:
.ci/run installs chromium and runs ``make book`` before ``make test``.
"""

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import headless_chromium as hc  # noqa: E402

HTML = hc.HTML
IN_CI = bool(os.environ.get("CI"))
# sphinx-thebe (loaded by jupyter-book) writes its inline `const THEBE_JS_URL` twice; only the unused thebe button
# is affected, and the book does not enable it.
KNOWN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)


def _why_not():
    if not (HTML / "book" / "intro.html").exists():
        return "the book is not built (_build/html missing): run `make book` first"
    if not hc.find_chromium():
        return "chromium not found: apt-get install chromium (scripts/install_chromium.sh)"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _why_not()
    if why:
        if IN_CI:
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    with hc.serve(HTML) as base, hc.Chromium() as chromium:
        reports = {}

        def report(page):
            if page not in reports:
                reports[page] = chromium.open(base + page)
            return reports[page]

        yield report


PAGES = hc.toc_pages()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline(browser, page):
    r = browser(page)
    assert r["h1"], f"{page}: no heading"
    assert not r["traceback"], f"{page} shows an exception"
    failed = [f for f in r["failed_local_requests"] if "/favicon.ico" not in f]
    assert not failed, f"{page}: files of the book that did not load: {failed}"
    assert not r["external_script_requests"], f"{page} needs scripts from the network: {r['external_script_requests']}"
    errors = [e for e in r["js_exceptions"] if not any(k in e for k in KNOWN_JS_ERRORS)]
    assert not errors, f"{page}: JavaScript errors: {errors}"


@pytest.mark.parametrize("page", PAGES)
def test_every_equation_is_typeset(browser, page):
    r = browser(page)
    if r["math_elements"]:
        assert r["mathjax_loaded"], f"{page}: MathJax did not load"
    assert not r["math_untypeset"], f"{page}: equations left as TeX: {r['math_untypeset'][:5]}"
    assert r["mjx_containers"] >= r["math_elements"], page
    assert not r["raw_tex"], f"{page}: raw TeX in the text: {r['raw_tex'][:5]}"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_loads(browser, page):
    r = browser(page)
    assert not r["broken_images"], f"{page}: images that did not load: {r['broken_images']}"
    text = (HTML / page).read_text(encoding="utf-8")
    for src in re.findall(r'<img[^>]+src="([^"]+)"', text):
        if not src.startswith(("data:", "http")):
            assert (HTML / page).parent.joinpath(src.split("#")[0].split("?")[0]).resolve().exists(), src


@pytest.mark.parametrize("page", PAGES)
def test_every_widget_view_renders(browser, page):
    r = browser(page)
    assert r["widget_views_rendered"] == r["widget_views"], \
        f"{page}: {r['widget_views'] - r['widget_views_rendered']} of {r['widget_views']} widget views did not render"
    assert not r["loading_widget_text"], f"{page}: 'Loading widget...' placeholders left"
    if r["widget_views"]:
        assert r["widget_manager_loaded"], page


def test_the_checks_are_not_vacuous(browser):
    """The book has equations, figures and widgets for the checks above to bite on."""
    reports = [browser(p) for p in PAGES]
    assert sum(r["mjx_containers"] for r in reports) >= 100
    assert sum(r["images"] for r in reports) >= 10
    assert sum(r["widget_views"] for r in reports) >= 5


def test_pages_load_no_script_from_a_cdn():
    """MathJax and the widget scripts come from the build (_static), not from a CDN (static check of the HTML)."""
    if not (HTML / "book" / "intro.html").exists():
        pytest.skip("the book is not built")
    for page in PAGES:
        text = (HTML / page).read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        assert not [u for u in remote if re.search(r"\.js\b|\.css\b|mathjax|widget", u)], (page, remote)
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert (HTML / "_static" / "widgets" / "embed-amd.js").exists()
    assert (HTML / "_static" / "widgets" / "require.js").exists()
