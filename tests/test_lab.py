"""The README's route to the live widgets: `make lab` (`.venv/bin/jupyter lab book/`) starts a JupyterLab server.

Started headless on 127.0.0.1 with a token; /lab and /api/kernelspecs must answer, then the server is stopped.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode("utf-8", "replace")


def test_jupyter_lab_serves_the_book(tmp_path):
    lab = Path(sys.executable).with_name("jupyter-lab")
    assert lab.exists() or shutil.which("jupyter-lab"), "jupyter-lab is not installed (the [book] extra has jupyterlab)"
    port, token = _free_port(), secrets.token_hex(16)
    args = [sys.executable, "-m", "jupyterlab", str(ROOT / "book"), "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        args.append("--allow-root")  # as `make lab` does for root
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"jupyter lab exited: {(tmp_path / 'lab.log').read_text()[-2000:]}"
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                assert time.monotonic() < deadline, "jupyter lab did not answer within 120 s"
                time.sleep(0.5)
        status, page = _get(f"{base}/lab?token={token}")
        assert status == 200 and "JupyterLab" in page
        status, specs = _get(f"{base}/api/kernelspecs?token={token}")
        assert "python3" in json.loads(specs)["kernelspecs"]
        status, listing = _get(f"{base}/api/contents?token={token}")
        names = {c["name"] for c in json.loads(listing)["content"]}
        assert "10_experiment4.ipynb" in names, names
        try:  # the token is required
            _get(f"{base}/api/kernelspecs")
            raise AssertionError("the server answered without the token")
        except urllib.error.HTTPError as e:
            assert e.code == 403
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
