"""Headless Chromium over the built book, with no network: page checks and screenshots (Python stdlib only).

The book in ``_build/html`` is served by ``http.server`` on 127.0.0.1; Chromium runs with every other host sent to
a dead proxy (and unresolvable), so anything a page takes from a CDN fails, as it would for an offline reader.
Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): no websocket client needed.

    python scripts/headless_chromium.py check [PAGE ...]          # JSON report per page (default: every TOC page)
    python scripts/headless_chromium.py screenshot PAGE OUT.png [--width 1280] [--height 2400] [--anchor ID]

PAGE is a path under _build/html, e.g. ``book/10_experiment4.html``. Used by tests/test_browser.py and
scripts/screenshot.sh. Chromium: Debian's ``chromium`` package (scripts/install_chromium.sh).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def toc_pages() -> list[str]:
    """The HTML page of every document in _toc.yml (root first), relative to _build/html."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f"{f}.html" for f in files]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextlib.contextmanager
def serve(directory: Path = HTML):
    """Serve ``directory`` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Chromium:
    """One headless Chromium process, one tab, spoken to over the DevTools pipe (fds 3 and 4 of the child)."""

    def __init__(self, executable: str | None = None, width: int = 1280, height: int = 900, timeout: float = 60):
        executable = executable or find_chromium()
        if not executable:
            raise FileNotFoundError("chromium not found (Debian: apt-get install chromium; scripts/install_chromium.sh)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="fa_lab-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # the child's ends, above the standard fds; bash (below) makes them fds 3 and 4 of chromium
        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        args = [
            executable, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--mute-audio",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--hide-scrollbars", "--disable-quic",
            f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
            # no network but the book's own server: other hosts go to a dead proxy and do not resolve
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "about:blank",
        ]
        shell = f'exec "$0" "$@" 3<&{hi_r} 4>&{hi_w} {hi_r}<&- {hi_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", shell, *args], pass_fds=(hi_r, hi_w),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.environ.get("FA_LAB_CHROMIUM_LOG", os.devnull), "ab"))
        os.close(hi_r)
        os.close(hi_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.call(f"{domain}.enable", session=True)
            self.set_size(width, height)
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- protocol
    def _send(self, msg: dict) -> None:
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")

    def _recv(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited (code {self.proc.poll()})")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = False, timeout: float | None = None, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self._send(msg)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._recv(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, timeout: float | None = None) -> dict:
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            ev = self._recv(deadline)
            if ev.get("method") == method:
                return ev
            if "method" in ev:
                self.events.append(ev)

    def evaluate(self, expression: str, timeout: float | None = None):
        res = self.call("Runtime.evaluate", session=True, timeout=timeout, expression=expression,
                        awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def set_size(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- pages
    def open(self, url: str, settle: float = 45) -> dict:
        """Load ``url``, wait until MathJax and the widget manager are done (at most ``settle`` s), return a report."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")
        report = self.evaluate(_SETTLE_AND_REPORT.replace("SETTLE_MS", str(int(settle * 1000))), timeout=settle + 30)
        report = json.loads(report)
        report.update(self._network_report(url))
        return report

    def _network_report(self, url: str) -> dict:
        base = url.split("/", 3)[:3]
        origin = "/".join(base)
        urls, types, failed, external, exceptions, console_errors = {}, {}, [], [], [], []
        for ev in self.events:
            p = ev.get("params", {})
            m = ev["method"]
            if m == "Network.requestWillBeSent":
                urls[p["requestId"]] = p["request"]["url"]
                types[p["requestId"]] = p.get("type", "")
                if not p["request"]["url"].startswith((origin, "data:", "blob:", "about:")):
                    external.append(p["request"]["url"])
            elif m == "Network.loadingFailed" and urls.get(p["requestId"], "").startswith(origin):
                failed.append(f"{urls[p['requestId']]} ({p.get('errorText')})")
            elif m == "Network.responseReceived" and p["response"]["url"].startswith(origin) \
                    and p["response"]["status"] >= 400:
                failed.append(f"{p['response']['url']} (HTTP {p['response']['status']})")
            elif m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                exceptions.append((d.get("exception") or {}).get("description") or d.get("text", ""))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error" \
                    and p["entry"].get("source") not in ("network",):
                console_errors.append(p["entry"]["text"])
        return {"failed_local_requests": failed, "external_requests": external,
                "external_script_requests": [urls[r] for r, t in types.items()
                                             if t == "Script" and not urls[r].startswith(origin)],
                "js_exceptions": exceptions, "console_errors": console_errors}

    def screenshot(self, url: str, out: Path, width: int = 1280, height: int = 2400, anchor: str = "") -> dict:
        """A PNG of the top ``height`` px of the page (from ``anchor`` when given) after it settled."""
        self.set_size(width, height)
        report = self.open(url + (f"#{anchor}" if anchor else ""))
        if anchor:
            self.evaluate(f"document.getElementById({json.dumps(anchor)})?.scrollIntoView(); true")
            time.sleep(0.5)
        shot = self.call("Page.captureScreenshot", session=True, format="png", timeout=120)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(base64.b64decode(shot["data"]))
        return report


# Runs in the page: wait for MathJax's typesetting and the widget views (bounded), then describe what a reader sees.
_SETTLE_AND_REPORT = r"""
(async () => {
  const deadline = Date.now() + SETTLE_MS;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const views = () => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = s => { const d = s.previousElementSibling;
                          return !!(d && d.classList.contains('widget-subarea') && d.children.length); };
  // called after the load event: a MathJax or widget manager script that has not run by now never will
  const mjLoaded = !!(window.MathJax && MathJax.version && MathJax.startup);
  const wmLoaded = typeof window.define === 'function';
  while (Date.now() < deadline) {
    const mjDone = !document.querySelector('.math') || !mjLoaded || !!MathJax.startup.document;
    if (mjDone && (!wmLoaded || views().every(rendered))) break;
    await sleep(250);
  }
  if (mjLoaded && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, sleep(Math.max(0, deadline - Date.now()))]);
  }
  await Promise.all([...document.images].map(img => img.complete ? null :
    Promise.race([new Promise(r => { img.onload = img.onerror = r; }), sleep(Math.max(0, deadline - Date.now()))])));
  // raw TeX left in the text a reader sees (code blocks, scripts and MathJax's own output excluded)
  const skip = 'SCRIPT,STYLE,PRE,CODE,TEXTAREA,MJX-CONTAINER,NOSCRIPT';
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    let p = n.parentElement, hidden = false;
    for (; p; p = p.parentElement) { if (skip.split(',').includes(p.tagName)) { hidden = true; break; } }
    if (hidden) continue;
    const t = n.textContent;
    if (/\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac|\\mathbf|\\delta/.test(t)) raw.push(t.trim().slice(0, 120));
  }
  const math = [...document.querySelectorAll('.math')];
  const imgs = [...document.images].filter(i => i.getAttribute('src'));
  const vs = views();
  return JSON.stringify({
    title: document.title,
    h1: !!document.querySelector('h1'),
    math_elements: math.length,
    math_untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 80)),
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mathjax_loaded: !!(window.MathJax && MathJax.version),
    raw_tex: raw,
    images: imgs.length,
    broken_images: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src').slice(0, 80)),
    widget_views: vs.length,
    widget_views_rendered: vs.filter(rendered).length,
    widget_manager_loaded: typeof window.require === 'function' && typeof window.define === 'function',
    loading_widget_text: (document.body.innerText.match(/Loading widget/g) || []).length,
    traceback: document.body.innerText.includes('Traceback (most recent call last)'),
  });
})()
"""


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="JSON report for pages (default: every TOC page)")
    c.add_argument("pages", nargs="*")
    s = sub.add_parser("screenshot", help="PNG of one page")
    s.add_argument("page")
    s.add_argument("out")
    s.add_argument("--width", type=int, default=1280)
    s.add_argument("--height", type=int, default=2400)
    s.add_argument("--anchor", default="")
    args = ap.parse_args(argv)
    if not (HTML / "index.html").exists():
        print(f"{HTML} not built: run `make book` first", file=sys.stderr)
        return 1
    with serve() as base, Chromium() as browser:
        if args.cmd == "check":
            reports = {p: browser.open(base + p) for p in (args.pages or toc_pages())}
            print(json.dumps(reports, indent=1))
        else:
            report = browser.screenshot(base + args.page, Path(args.out), args.width, args.height, args.anchor)
            print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KiB); math {report['mjx_containers']}"
                  f" typeset, {len(report['math_untypeset'])} not; widget views {report['widget_views_rendered']}"
                  f"/{report['widget_views']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
