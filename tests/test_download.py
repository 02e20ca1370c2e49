"""Downloads and dataset preparation against a local HTTP server serving tiny generated files: no internet."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import vaelab
from vaelab.data import mnist
from vaelab.data.download import DownloadError, OfflineError, fetch, sha256_file

from helpers import closed_port

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Point the real sources at a refused port, so even a bug cannot make these tests download anything."""
    port = closed_port()
    for name, files in mnist.SOURCES.items():
        dead = {f: (f"http://127.0.0.1:{port}/{f}", digest) for f, (_, digest) in files.items()}
        monkeypatch.setitem(mnist.SOURCES, name, dead)


def _write_amat(path: Path, x: np.ndarray) -> None:
    """The published layout: one row per line, 784 space-separated digits, '\\n' endings."""
    path.write_text("".join(" ".join(map(str, row)) + "\n" for row in x))


def _write_idx(path: Path, arr: np.ndarray) -> None:
    magic = {1: 2049, 3: 2051}[arr.ndim]
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


def _amat_set(folder: Path, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sets = {s: rng.integers(0, 2, (n, 784), dtype=np.uint8) for s, n in (("train", 4), ("valid", 2), ("test", 3))}
    for s, x in sets.items():
        _write_amat(folder / f"binarized_mnist_{s}.amat", x)
    return sets


def _idx_set(folder: Path, n_train: int = 5, n_test: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}
    files = {"train-images-idx3-ubyte.gz": "x_train", "train-labels-idx1-ubyte.gz": "y_train",
             "t10k-images-idx3-ubyte.gz": "x_test", "t10k-labels-idx1-ubyte.gz": "y_test"}
    for file, key in files.items():
        _write_idx(folder / file, arrays[key])
    return arrays


def test_binarized_mnist_prepared_from_server_then_cached(server, tmp_path):
    sets = _amat_set(server.folder)
    sources = server.sources(*mnist.BINARIZED_MNIST_SOURCES)
    root = tmp_path / "data"
    for split, expected in sets.items():
        x, y, source = mnist.load_arrays("binarized_mnist", split, root, sources=sources)
        assert x.dtype == np.uint8 and x.shape == expected.shape
        np.testing.assert_array_equal(x, expected)
        assert y is None and "binarized_mnist.npz" in source
    assert server.requests == 3 and mnist.is_prepared("binarized_mnist", root)
    assert not (root / "raw" / "binarized_mnist").exists()  # raw files go once the npz exists
    server.stop()  # a second load must not need the server at all
    x, _, _ = mnist.load_arrays("binarized_mnist", "test", root, download=False)
    np.testing.assert_array_equal(x, sets["test"])
    assert sorted(p.name for p in root.iterdir()) == ["binarized_mnist.npz", "raw"]


def test_fetch_skips_network_when_file_is_already_right(server, tmp_path):
    (server.folder / "f.bin").write_bytes(b"payload")
    digest = sha256_file(server.folder / "f.bin")
    dest = fetch(server.url("f.bin"), tmp_path / "dl" / "f.bin", digest)
    assert dest.read_bytes() == b"payload" and server.requests == 1
    fetch(server.url("f.bin"), dest, digest)
    assert server.requests == 1


def test_bad_checksum_raises_and_leaves_nothing(server, tmp_path):
    (server.folder / "f.bin").write_bytes(b"payload")
    cache = tmp_path / "dl"
    with pytest.raises(DownloadError) as err:
        fetch(server.url("f.bin"), cache / "f.bin", "0" * 64)
    msg = str(err.value)
    assert server.url("f.bin") in msg and "0" * 64 in msg and sha256_file(server.folder / "f.bin") in msg
    assert list(cache.iterdir()) == []
    # The same through a whole prepare: no npz, no raw file, no temp file anywhere under root.
    _amat_set(server.folder)
    root = tmp_path / "data"
    with pytest.raises(DownloadError):
        mnist.prepare("binarized_mnist", root, sources=server.sources(*mnist.BINARIZED_MNIST_SOURCES, digest="1" * 64))
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_http_error_and_unknown_digest_are_download_errors(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        fetch(server.url("missing.bin"), tmp_path / "m.bin", "0" * 64)
    (server.folder / "f.bin").write_bytes(b"payload")
    with pytest.raises(DownloadError, match="allow_unverified"):
        fetch(server.url("f.bin"), tmp_path / "f.bin", None)
    assert server.requests == 1  # the unknown digest was refused before any request
    assert fetch(server.url("f.bin"), tmp_path / "f.bin", None, allow_unverified=True).read_bytes() == b"payload"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["f.bin"]


def test_offline_error_names_the_way_out(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/binarized_mnist_test.amat"
    with pytest.raises(OfflineError) as err:
        fetch(url, tmp_path / "dl" / "binarized_mnist_test.amat", "0" * 64, timeout=5)
    msg = str(err.value)
    assert "binarized_mnist_test.amat" in msg and "digits" in msg and "VAELAB_DATA_DIR" in msg
    assert "pinwheel" in msg and list((tmp_path / "dl").iterdir()) == []
    # download=False with nothing prepared: same kind of error, and no network is tried at all.
    with pytest.raises(OfflineError, match="VAELAB_DATA_DIR") as err:
        mnist.load_arrays("fashion_mnist", "train", tmp_path / "empty", download=False)
    assert "digits" in str(err.value) and "fashion_mnist.npz" in str(err.value) and "download=False" in str(err.value)


def test_idx_round_trip_and_valid_is_last_of_train(server, tmp_path):
    arrays = _idx_set(server.folder)
    root = tmp_path / "data"
    path = mnist.prepare("fashion_mnist", root, sources=server.sources(*mnist.FASHION_MNIST_SOURCES))
    with np.load(path) as data:
        assert sorted(data.files) == sorted(arrays)
        for key, value in arrays.items():
            np.testing.assert_array_equal(data[key], value)
        x_tr, y_tr = mnist.split_train(data["x_train"], data["y_train"], "train", n_valid=2)
        x_va, y_va = mnist.split_train(data["x_train"], data["y_train"], "valid", n_valid=2)
    np.testing.assert_array_equal(x_tr, arrays["x_train"][:3])
    np.testing.assert_array_equal(x_va, arrays["x_train"][3:])
    np.testing.assert_array_equal(np.concatenate([y_tr, y_va]), arrays["y_train"])
    x, y, _ = mnist.load_arrays("fashion_mnist", "test", root, download=False)
    np.testing.assert_array_equal(x, arrays["x_test"])
    assert y.dtype == np.int64 and (y == arrays["y_test"]).all()
    with pytest.raises(ValueError, match="cannot give up"):  # 5 images cannot lose 10000 to valid
        mnist.load_arrays("fashion_mnist", "train", root, download=False)


def test_full_size_split_convention(tmp_path):
    # Real sizes, zero pixels except a row id in the first two: checks which rows land in which split.
    ids = np.arange(60000)
    x = np.zeros((60000, 28, 28), np.uint8)
    x[:, 0, 0], x[:, 0, 1] = ids % 256, ids // 256
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=(ids % 10).astype(np.uint8),
             x_test=x[:10000], y_test=(ids[:10000] % 10).astype(np.uint8))
    x_tr, y_tr, _ = mnist.load_arrays("mnist", "train", tmp_path, download=False)
    x_va, y_va, _ = mnist.load_arrays("mnist", "valid", tmp_path, download=False)
    row_id = lambda a: a[:, 0, 0].astype(int) + 256 * a[:, 0, 1].astype(int)  # noqa: E731
    assert (row_id(x_tr) == ids[:50000]).all() and (row_id(x_va) == ids[50000:]).all()
    assert (y_va == ids[50000:] % 10).all() and len(y_tr) == 50000


def test_malformed_idx_raises_download_error(tmp_path):
    good = tmp_path / "good.gz"
    _write_idx(good, np.zeros((2, 28, 28), np.uint8))
    assert mnist.read_idx(good).shape == (2, 28, 28)
    bad_magic = tmp_path / "bad_magic.gz"
    bad_magic.write_bytes(gzip.compress(b"\x00\x00\x09\x03" + gzip.decompress(good.read_bytes())[4:]))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(gzip.compress(gzip.decompress(good.read_bytes())[:-5]))
    not_gzip = tmp_path / "not_gzip.gz"
    not_gzip.write_bytes(b"<html>nope</html>")
    for path in (bad_magic, truncated, not_gzip):
        with pytest.raises(DownloadError):
            mnist.read_idx(path)


def test_amat_parser_accepts_crlf_and_rejects_garbage(tmp_path):
    x = np.random.default_rng(4).integers(0, 2, (3, 784), dtype=np.uint8)
    crlf = tmp_path / "crlf.amat"
    crlf.write_bytes("".join(" ".join(map(str, r)) + " \r\n" for r in x).encode())
    np.testing.assert_array_equal(mnist.read_amat(crlf), x)
    short = tmp_path / "short.amat"
    _write_amat(short, x[:, :783])
    twos = tmp_path / "twos.amat"
    _write_amat(twos, x * 2)
    for path in (short, twos):
        with pytest.raises(DownloadError):
            mnist.read_amat(path)


def test_mnist_test_file_serves_test_split_only(tmp_path):
    x = np.random.default_rng(2).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "mnist_test.npz", x_test=x, y_test=np.arange(4, dtype=np.uint8))
    got, y, source = mnist.load_arrays("mnist", "test", tmp_path, download=False)
    np.testing.assert_array_equal(got, x)
    assert list(y) == [0, 1, 2, 3] and "mnist_test.npz" in source
    assert not mnist.is_prepared("mnist", tmp_path)
    with pytest.raises(OfflineError, match="download=False"):
        mnist.load_arrays("mnist", "train", tmp_path, download=False)
    with pytest.raises(OfflineError, match="unreachable"):  # download=True tries the (here dead) mirror
        mnist.load_arrays("mnist", "valid", tmp_path)


def test_bad_name_or_split_is_value_error(tmp_path):
    with pytest.raises(ValueError, match="name"):
        mnist.load_arrays("cifar10", "train", tmp_path)
    with pytest.raises(ValueError, match="split"):
        mnist.load_arrays("mnist", "validation", tmp_path)


def test_load_dataset_reads_prepared_npz_offline(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, (6, 784), dtype=np.uint8)
    np.savez_compressed(tmp_path / "binarized_mnist.npz", x_train=x, x_valid=x[:2], x_test=x)
    ds = vaelab.load_dataset("binarized_mnist", "test", root=tmp_path, download=False)
    assert tuple(ds.x.shape) == (6, 1, 28, 28) and ds.meta["kind"] == "binary" and ds.y is None
    np.testing.assert_array_equal(ds.x.reshape(6, 784).numpy(), x)


@pytest.mark.skipif(not (SHARED / "binarized_mnist.npz").is_file(), reason="no reference data beside the checkout")
def test_reference_binarized_mnist_test_split():
    ds = vaelab.load_dataset("binarized_mnist", "test", root=SHARED, download=False)
    assert tuple(ds.x.shape) == (10000, 1, 28, 28)
    assert set(np.unique(ds.x.numpy())) == {0.0, 1.0}
    assert ds.y is not None and ds.y.shape == (10000,) and set(ds.y.tolist()) == set(range(10))



def test_read_only_data_dir_gives_a_clear_error(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(mnist, "prepare_idx", denied)
    with pytest.raises(mnist.DownloadError, match="cannot write 'mnist'.*VAELAB_DATA_DIR.*writable"):
        mnist.prepare("mnist", tmp_path)
