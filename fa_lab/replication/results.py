"""The results store: one JSON per finished run (plus an optional .npz beside it).

Layout: ``<results>/<protocol>/<experiment>/<run_id>.json`` (protocol ``full`` or ``quick``).
Every file is written atomically (temporary file in the same folder, fsync, ``os.replace``),
so a killed runner leaves either the whole file or none. :func:`load_results` reads them
back as plain dicts ("records"); a malformed file is reported with one warning line and skipped.

Used by the runner, the report and the book::

    records = fa_lab.results.load_results("results", protocol="full")
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

SCHEMA = 1
PROTOCOLS = ("full", "quick")
DEFAULT_DIR = "results"
_UMASK = os.umask(0)
os.umask(_UMASK)
REQUIRED = ("run_id", "config", "test_error", "train_error", "final_test_error")


def config_hash(config: dict, n=8) -> str:
    """Short SHA-256 of the canonical JSON of a full run config (stable across runs and machines)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def atomic_write_bytes(path, data: bytes):
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def atomic_write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def atomic_write_npz(path, **arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def run_path(results_dir, protocol, experiment, run_id) -> Path:
    return Path(results_dir) / protocol / experiment / f"{run_id}.json"


def read_record(path):
    """One result file as a dict; raises ValueError naming what is wrong."""
    path = Path(path)
    try:
        rec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable JSON ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise ValueError(f"missing keys {missing}")
    cfg = rec["config"]
    if not isinstance(cfg, dict) or "experiment" not in cfg or "rule" not in cfg:
        raise ValueError("config is not a run config")
    if rec["run_id"] != path.stem:
        raise ValueError(f"run_id {rec['run_id']!r} does not match the file name")
    if not isinstance(rec["test_error"], list):
        raise ValueError("test_error is not a list")
    if rec["final_test_error"] is not None and not isinstance(rec["final_test_error"], (int, float)):
        raise ValueError("final_test_error is not a number")
    rec["path"] = str(path)
    return rec


def is_done(path) -> bool:
    """True when ``path`` holds a valid result (a malformed file counts as not done)."""
    try:
        read_record(path)
        return True
    except ValueError:
        return False


def load_results(results_dir=DEFAULT_DIR, protocol="full", experiment=None, warn=None) -> list[dict]:
    """Every valid record of ``protocol`` (``full``, ``quick`` or None for both) under ``results_dir``,
    optionally of one experiment.

    A malformed file is reported (``warn(line)``; default: a line on stderr naming the file)
    and skipped, never counted. Records carry their ``path``."""
    warn = warn or (lambda line: print(line, file=sys.stderr))
    root = Path(results_dir)
    protocols = [protocol] if protocol else list(PROTOCOLS)
    out = []
    for p in protocols:
        base = root / p
        if not base.is_dir():
            continue
        pattern = f"{experiment}/*.json" if experiment else "*/*.json"
        for path in sorted(base.glob(pattern)):
            try:
                out.append(read_record(path))
            except ValueError as exc:
                warn(f"fa_lab: warning: skipping malformed result file {path}: {exc}")
    return out


def load_artifacts(record):
    """The .npz saved beside a record (Experiment 3: reconstructions, first-layer weights), or None."""
    path = Path(record["path"]).with_suffix(".npz")
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        print(f"fa_lab: warning: skipping malformed artifact file {path}: {exc}", file=sys.stderr)
        return None


def select(records, **criteria) -> list[dict]:
    """Records whose config (or top-level field: model, method) equals every criterion, e.g.
    ``select(recs, experiment="exp4", rule="dfa")``; a list/tuple/set value means "any of"."""
    out = []
    for r in records:
        ok = True
        for key, want in criteria.items():
            have = r["config"].get(key, r.get(key))
            if key == "sizes" and have is not None:
                have, want = tuple(have), (tuple(want) if not isinstance(want, set) else want)
            if isinstance(want, (set, list)) or (isinstance(want, tuple) and key != "sizes"):
                ok = have in want
            else:
                ok = have == want
            if not ok:
                break
        if ok:
            out.append(r)
    return out
