"""Trained results are never lost to the results folder: it is checked before any training, and a result
that cannot be written after training (disk full, permissions changed mid-run) is saved to a rescue folder,
from which the next ``replicate`` puts it back once the results folder is writable again.

The rescue folder is ``$FA_LAB_RESCUE``, else ``~/.cache/fa_lab/rescued``, else (if that cannot be written)
``<tmp>/fa_lab-rescued``; it mirrors the results layout: ``<rescue>/<protocol>/<experiment>/<run_id>.json``
(Experiment 3 also ``.npz``).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np

from . import results as rs
from ..core.errors import FaLabError


def why(exc) -> str:
    """A short reason for an OSError: 'No space left on device', 'Permission denied', ..."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def check_writable(folders):
    """Make sure each folder exists and takes a file (create it, write and remove a probe), before any
    training; raises a one-line FaLabError naming the folder otherwise."""
    for folder in sorted({Path(f) for f in folders}):
        probe = folder / f".fa_lab-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(probe, "wb") as f:
                f.write(b"fa_lab write probe\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise FaLabError(f"cannot write results to {folder} ({why(exc)}); nothing was trained") from None
        finally:
            try:
                probe.unlink(missing_ok=True)
            except OSError:
                pass


def rescue_roots() -> list[Path]:
    """Where rescued results go, in order of preference."""
    env = os.environ.get("FA_LAB_RESCUE")
    roots = [Path(env)] if env else [Path.home() / ".cache" / "fa_lab" / "rescued"]
    return roots + [Path(tempfile.gettempdir()) / "fa_lab-rescued"]


def _write(path, data: bytes):
    """A plain atomic write (temp file, rename), independent of the results store's writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _npz(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def rescue(record, artifacts=None) -> Path:
    """Save a record (and its artifacts) under the first rescue root that takes it; returns the JSON's path."""
    rel = Path(record.config.protocol) / record.config.experiment / f"{record.run_id}.json"
    text = (json.dumps(record.to_json(), indent=1, sort_keys=True) + "\n").encode()
    last = None
    for root in rescue_roots():
        try:
            if artifacts is not None:
                _write((root / rel).with_suffix(".npz"), _npz(artifacts))
            _write(root / rel, text)
            return root / rel
        except OSError as exc:
            last = exc
    raise FaLabError(f"could not write the result of {record.run_id} ({why(last)}) nor save it in "
                     f"{', '.join(map(str, rescue_roots()))}") from None


def store(results_dir, record, artifacts=None):
    """Write a finished run's result (artifacts first, then the JSON) atomically into the results folder.
    Returns None, or ``(rescue path, reason)`` when the write failed and the result was rescued instead."""
    path = rs.run_path(results_dir, record.config.protocol, record.config.experiment, record.run_id)
    try:
        if artifacts is not None:
            rs.atomic_write_npz(path.with_suffix(".npz"), **artifacts)
        rs.write_record(results_dir, record)
        return None
    except OSError as exc:
        return str(rescue(record, artifacts)), why(exc)


def restore(results_dir, runs) -> int:
    """Put rescued results of ``runs`` that are missing from the results folder back into it; returns how
    many. A rescued file that cannot be moved back (the folder is still unwritable) stays where it is."""
    n = 0
    for cfg in runs:
        target = rs.run_path(results_dir, cfg.protocol, cfg.experiment, cfg.run_id)
        if target.exists():
            continue
        for root in rescue_roots():
            saved = root / cfg.protocol / cfg.experiment / target.name
            if not saved.exists():
                continue
            try:
                rs.read_record(saved)
                if saved.with_suffix(".npz").exists():
                    rs.atomic_write_bytes(target.with_suffix(".npz"), saved.with_suffix(".npz").read_bytes())
                rs.atomic_write_bytes(target, saved.read_bytes())
            except (OSError, ValueError):
                continue
            saved.unlink(missing_ok=True)
            saved.with_suffix(".npz").unlink(missing_ok=True)
            n += 1
            break
    if n:
        print(f"fa_lab: put back {n} rescued results into {results_dir}", file=sys.stderr)
    return n
