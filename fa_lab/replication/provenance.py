"""Provenance of a run: library versions, git commit, host, CPU, device and thread count (stored in every
:class:`~fa_lab.replication.results.Record`)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path

import numpy as np


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit():
    """$FA_LAB_GIT_COMMIT when set (a copy of the tree on another machine, whose .git may be stale or absent:
    the commit the copy was made from), else HEAD (``-dirty`` when fa_lab/ has uncommitted changes)."""
    root = Path(__file__).resolve().parents[2]
    if os.environ.get("FA_LAB_GIT_COMMIT"):
        return os.environ["FA_LAB_GIT_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "fa_lab"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict:
    """Library versions, git commit, host and CPU: stored in every record."""
    import torch

    from .. import __version__

    return {"versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                         "fa_lab": __version__},
            "git_commit": _git_commit(), "host": {"hostname": socket.gethostname(), "cpu": _cpu_name(),
                                                  "cpu_count": os.cpu_count(), "platform": platform.platform()}}


def device_facts(device) -> dict:
    """What a run trained on: the device, its GPU name (CUDA) and torch's thread count (results differ
    bitwise between thread counts)."""
    import torch

    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {"device": str(device), "device_name": name, "threads": torch.get_num_threads()}
