"""Claims: which runner trains which run, so that runners sharing a results folder (several on one machine,
or on many machines sharing a filesystem: Slurm tasks included) split the work and never train a run twice.

- A claim is ``<results>/<protocol>/<experiment>/<run_id>.claim``, created atomically (``O_CREAT|O_EXCL``)
  and holding JSON ``{host, pid, started, token}``. Whoever creates it trains the run; the others skip it.
- Its holder touches it every ``timeout / 4`` seconds (a heartbeat) and removes it once the run's result is
  written (or the run failed).
- A claim is stale, and is taken over, when its holder is gone: on the same host, its pid is no longer alive;
  on any host, its heartbeat is older than ``timeout`` seconds (``--claim-timeout``, default ``CLAIM_TIMEOUT``).
  Taking over goes through a break lock (``<run_id>.claim.break``, also ``O_EXCL``) and re-reads the claim
  under it, so two runners never both take over one stale claim.
- :func:`scan` lists a folder's live claims (``replicate --dry-run`` shows them as "in progress") and removes
  what killed runners left: stale claims, and temporary files of atomic writes cut by ``kill -9``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path

CLAIM_TIMEOUT = 600.0  # s without a heartbeat after which another host's claim is stale
BREAK_TIMEOUT = 60.0   # s after which a break lock left by a killed runner is removed
HOST = socket.gethostname()


def claim_path(results_dir, cfg) -> Path:
    """Where the claim of run ``cfg`` (a RunConfig) lives: beside its result file."""
    return Path(results_dir) / cfg.protocol / cfg.experiment / f"{cfg.run_id}.claim"


def read_claim(path):
    """The claim's JSON (``{}`` while it is being written or if unreadable), or None when there is no claim."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        info = json.loads(text)
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _alive(pid) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_stale(path, info, timeout=CLAIM_TIMEOUT) -> bool:
    """Whether the claim at ``path`` (content ``info``) is left by a runner that is gone."""
    try:
        age = time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return True
    pid = (info or {}).get("pid")
    if (info or {}).get("host") == HOST and isinstance(pid, int) and not _alive(pid):
        return True
    return age > timeout


def describe(info) -> str:
    """'host pid 123 since 12:34:56' for messages."""
    if not info:
        return "a runner that is starting"
    started = time.strftime("%H:%M:%S", time.localtime(info.get("started", 0)))
    return f"{info.get('host', '?')} pid {info.get('pid', '?')} since {started}"


def break_if_stale(path, timeout=CLAIM_TIMEOUT) -> bool:
    """Remove the claim at ``path`` if it is stale; True when there is no claim any more."""
    path = Path(path)
    info = read_claim(path)
    if info is None:
        return True
    if not is_stale(path, info, timeout):
        return False
    brk = path.with_name(path.name + ".break")
    try:
        os.close(os.open(brk, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        try:
            if time.time() - brk.stat().st_mtime > BREAK_TIMEOUT:  # left by a runner killed while breaking
                brk.unlink(missing_ok=True)
        except OSError:
            pass
        return False
    try:
        again = read_claim(path)  # re-read under the break lock: someone may have claimed it meanwhile
        if again is None:
            return True
        if again == info and is_stale(path, again, timeout):
            path.unlink(missing_ok=True)
            return True
        return False
    finally:
        brk.unlink(missing_ok=True)


class Claims:
    """The claims one process holds, kept alive by a heartbeat thread while it holds any."""

    def __init__(self, timeout=CLAIM_TIMEOUT):
        self.timeout = float(timeout)
        self.held = {}  # path -> token
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def take(self, path) -> bool:
        """Claim ``path`` atomically; False when a live runner holds it. A stale claim is taken over."""
        path = Path(path)
        token = uuid.uuid4().hex
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                continue
            except FileExistsError:
                if not break_if_stale(path, self.timeout):
                    return False
                continue
            with os.fdopen(fd, "w") as f:
                json.dump({"host": HOST, "pid": os.getpid(), "started": time.time(), "token": token}, f)
            with self._lock:
                self.held[path] = token
            self._start()
            return True
        return False

    def release(self, path):
        """Remove our claim at ``path`` (never someone else's that took it over)."""
        path = Path(path)
        with self._lock:
            token = self.held.pop(path, None)
        if token is not None and (read_claim(path) or {}).get("token") == token:
            path.unlink(missing_ok=True)

    def release_all(self):
        """Remove every claim this object holds."""
        for path in list(self.held):
            self.release(path)
        self.stop()

    def _start(self):
        """Start the heartbeat thread unless it runs."""
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            return
        if self._thread is not None:
            self._thread.join()
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="fa_lab-claims-heartbeat")
        self._thread.start()

    def stop(self):
        """Stop the heartbeat thread."""
        self._stop.set()

    def _beat(self):
        """Touch every claim still ours every timeout / 4 seconds."""
        while not self._stop.wait(max(0.05, self.timeout / 4)):
            with self._lock:
                held = list(self.held.items())
            for path, token in held:
                try:
                    if (read_claim(path) or {}).get("token") == token:
                        os.utime(path)
                except OSError:
                    pass


_TMP = re.compile(r"^\.(?P<run_id>.+)\.(json|npz)\.[^.]+\.tmp$")


def scan(folder, timeout=CLAIM_TIMEOUT, tidy=True) -> dict:
    """The live claims in ``folder`` as ``{run_id: info}``. With ``tidy``, also removes what killed runners left
    there: stale claims, old break locks and write probes, and the temporary files of runs that nobody holds a
    live claim on (an atomic write cut by ``kill -9``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    live = {}
    for path in folder.glob("*.claim"):
        info = read_claim(path)
        if info is None:
            continue
        if not is_stale(path, info, timeout):
            live[path.stem] = info
        elif tidy:
            break_if_stale(path, timeout)
    if tidy:
        _remove_leftovers(folder, live, min(timeout, BREAK_TIMEOUT))
    return live


def _remove_leftovers(folder, live, age):
    """Remove temporary files, break locks and write probes older than ``age`` seconds, except the temporary
    files of runs with a live claim (a live writer, even one slowed down, keeps its file)."""
    now = time.time()
    for path in folder.glob(".*"):
        m = _TMP.match(path.name)
        if not (m or path.name.startswith(".fa_lab-probe-") or path.name.endswith(".claim.break")):
            continue
        try:
            if now - path.stat().st_mtime > age and not (m and m["run_id"] in live):
                path.unlink(missing_ok=True)
        except OSError:
            pass
