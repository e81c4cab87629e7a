"""The results store: one JSON record per finished run (plus an optional .npz beside it), its schema,
its provenance and the statistics over seeds.

Layout: ``<results>/<protocol>/<experiment>/<run_id>.json`` (protocol ``full`` or ``quick``). Every file
is written atomically (temporary file in the same folder, fsync, ``os.replace``), so a killed runner leaves
either the whole file or none. :class:`Record` is the one schema: :meth:`Record.to_json` writes it,
:meth:`Record.from_json` reads and validates it, and :func:`load_results` skips (and names) every file
that does not validate, so nothing malformed is ever counted::

    records = load_results("results", protocol="full")
    stats = summarize(records)            # {(experiment, net, method): Stats(mean, sd, n, ...)}
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .grid import RunConfig, protocol_settings

SCHEMA = 1
PROTOCOLS = ("full", "quick")
DEFAULT_DIR = "results"
_UMASK = os.umask(0)
os.umask(_UMASK)


# ---------------------------------------------------------------------------------------------- writing
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


# ---------------------------------------------------------------------------------------------- the record
def _finite(value, what, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} is not a finite number: {value!r}")
    return float(value)


def _series(value, what):
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return [_finite(v, f"{what} entry") for v in value]


@dataclass
class Record:
    """One finished run: its config, per-epoch history, final numbers and where it ran."""

    config: RunConfig
    train_error: list
    test_error: list
    final_test_error: float | None
    final_train_error: float | None = None
    diverged: str | None = None
    train_loss: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    wall_time_s: float | None = None
    group: list = field(default_factory=list)
    device: str = "cpu"
    device_name: str | None = None
    threads: int | None = None
    alignment: list = field(default_factory=list)  # per epoch, per weight layer (fa_lab.core.alignment)
    finished_at: str | None = None
    versions: dict = field(default_factory=dict)
    git_commit: str | None = None
    host: dict = field(default_factory=dict)
    path: Path | None = None  # where it was read from (not stored)

    @property
    def run_id(self) -> str:
        return self.config.run_id

    @classmethod
    def of(cls, cfg, history, wall, group_ids, env, facts) -> "Record":
        """The record of a finished :class:`~fa_lab.core.train.History` (``env``: :func:`environment`,
        ``facts``: :func:`device_facts`)."""
        final = history.test_error[-1] if history.test_error and not history.diverged else None
        return cls(cfg, history.train_error, history.test_error, final, history.final_train_error, history.diverged,
                   history.train_loss, history.epoch_time, wall, list(group_ids), alignment=history.alignment,
                   finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   **facts, **env)

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("config", "path")}
        return {"schema": SCHEMA, "run_id": self.run_id, "config": self.config.as_dict(), "model": self.config.net_name,
                "method": self.config.method, **d}

    @classmethod
    def from_json(cls, d, path=None) -> "Record":
        """A record from its JSON object; raises ValueError naming the first thing that is wrong."""
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        try:
            cfg = RunConfig.from_dict(d["config"])
            cfg.run_id
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"config is not a run config ({type(exc).__name__}: {exc})") from None
        if d.get("run_id") != cfg.run_id:
            raise ValueError(f"run_id {d.get('run_id')!r} does not match its config (expected {cfg.run_id!r})")
        if path is not None:
            path = Path(path)
            if path.stem != cfg.run_id:
                raise ValueError(f"file name does not match run_id {cfg.run_id!r}")
            if (path.parent.name, path.parent.parent.name) != (cfg.experiment, cfg.protocol):
                raise ValueError(f"a {cfg.protocol}/{cfg.experiment} run stored in {path.parent.parent.name}/"
                                 f"{path.parent.name}")
        rec = cls(cfg, _series(d.get("train_error"), "train_error"), _series(d.get("test_error"), "test_error"),
                  _finite(d.get("final_test_error"), "final_test_error", optional=True),
                  _finite(d.get("final_train_error"), "final_train_error", optional=True), d.get("diverged"),
                  path=path)
        if rec.final_test_error is None and not rec.diverged:
            raise ValueError("final_test_error is missing but the run did not diverge")
        for k in ("train_loss", "epoch_time", "wall_time_s", "group", "device", "device_name", "threads", "alignment",
                  "finished_at", "versions", "git_commit", "host"):
            if d.get(k) is not None:
                setattr(rec, k, d[k])
        return rec


def write_record(results_dir, record: Record) -> Path:
    path = run_path(results_dir, record.config.protocol, record.config.experiment, record.run_id)
    atomic_write_json(path, record.to_json())
    return path


def read_record(path) -> Record:
    """One result file; raises ValueError naming what is wrong."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(f"unreadable JSON ({type(exc).__name__}: {first})") from None
    return Record.from_json(d, path)


def load_results(results_dir=DEFAULT_DIR, protocol="full", experiment=None, warn=None) -> list[Record]:
    """Every valid record of ``protocol`` (``full``, ``quick`` or None for both) under ``results_dir``,
    optionally of one experiment. A malformed file is reported (``warn(line)``; default: a line on
    stderr naming the file) and skipped, never counted."""
    warn = warn or (lambda line: print(line, file=sys.stderr))
    root = Path(results_dir)
    out = []
    for p in [protocol] if protocol else list(PROTOCOLS):
        base = root / p
        if not base.is_dir():
            continue
        for path in sorted(base.glob(f"{experiment}/*.json" if experiment else "*/*.json")):
            try:
                out.append(read_record(path))
            except ValueError as exc:
                warn(f"fa_lab: warning: skipping malformed result file {path}: {exc}")
    return out


def load_artifacts(record):
    """The .npz saved beside a record (Experiment 3: reconstructions, first-layer weights), or None."""
    path = Path(record.path).with_suffix(".npz") if record.path else None
    if path is None or not path.exists():
        return None
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        print(f"fa_lab: warning: skipping malformed artifact file {path}: {exc}", file=sys.stderr)
        return None


# ---------------------------------------------------------------------------------------------- selection
def select(records, **criteria) -> list[Record]:
    """Records whose config field equals every criterion, e.g. ``select(recs, experiment="exp4", rule="dfa")``;
    a set or list value means "any of" (``sizes`` compares as a tuple)."""
    def ok(r, key, want):
        have = getattr(r.config, key)
        if isinstance(want, (set, list)):
            return have in {tuple(w) if key == "sizes" else w for w in want}
        return have == (tuple(want) if key == "sizes" else want)

    return [r for r in records if all(ok(r, k, w) for k, w in criteria.items())]


def current(records, protocol):
    """(records run with the protocol's current settings, the others): a changed batch size, say, makes
    older results stale; they are never mixed into the tables."""
    keep, stale = [], []
    for r in records:
        want = protocol_settings(protocol, r.config.experiment)
        (keep if all(getattr(r.config, k) == v for k, v in want.items()) else stale).append(r)
    return keep, stale


# ---------------------------------------------------------------------------------------------- statistics
def mean_sd(values):
    """(mean, sample sd) of a list; sd is None for fewer than two values, both None for none."""
    n = len(values)
    if n == 0:
        return None, None
    m = sum(values) / n
    return m, (math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else None)


@dataclass
class Stats:
    """A cell over seeds: mean ± sample sd of the final test error, n, mean final training error."""

    mean: float | None
    sd: float | None
    n: int
    train: float | None
    diverged: list
    seeds: list
    records: list


def summarize(records) -> dict:
    """{(experiment, net, method): Stats} over the seeds of each cell; diverged runs are listed, never averaged."""
    cells = {}
    for r in records:
        cells.setdefault(r.config.cell, []).append(r)
    out = {}
    for key, recs in cells.items():
        ok = [r for r in recs if not r.diverged and r.final_test_error is not None]
        m, sd = mean_sd([r.final_test_error for r in ok])
        train = mean_sd([r.final_train_error for r in ok if r.final_train_error is not None])[0]
        out[key] = Stats(m, sd, len(ok), train, [r.run_id for r in recs if r.diverged],
                         sorted(r.config.seed for r in ok), recs)
    return out


# ---------------------------------------------------------------------------------------------- as text
def ours(s, digits=2):
    """'1.83 ± 0.04 (n=3)', '2.27 (n=1, 2 diverged)', 'diverged (2 seeds)' or '—': n counts the seeds that trained."""
    k = len(s.diverged) if s else 0
    if not s or s.mean is None:
        return f"diverged ({k} seed{'s' * (k > 1)})" if k else "—"
    n = f"n={s.n}" + (f", {k} diverged" if k else "")
    return f"{s.mean:.{digits}f}" + (f" ± {s.sd:.{digits}f}" if s.sd is not None else "") + f" ({n})"


def md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows]) + "\n"
