"""Binarized MNIST, MNIST and Fashion-MNIST: download once (checksummed), keep one prepared .npz per dataset.

Prepared files, all in the data directory `root`:
  binarized_mnist.npz  x_train (50000, 784), x_valid (10000, 784), x_test (10000, 784): uint8 in {0, 1},
                       rows are 28x28 images flattened row-major; y_<split> (n,) labels only where the file
                       has them (the original release has none; the reference copy in ../shared/data adds y_test).
  mnist.npz, fashion_mnist.npz
                       x_train (60000, 28, 28), x_test (10000, 28, 28): uint8 0..255; y_train, y_test (n,).
  mnist_test.npz       optional stand-in for mnist.npz holding only x_test and y_test: serves split='test'.

Splits. Binarized MNIST has Larochelle & Murray's (2011) fixed 50k/10k/10k split. MNIST and Fashion-MNIST
ship only train (60000) and test (10000); here `valid` is the LAST 10000 training images and `train` the
first 50000, so train/valid/test sizes match binarized MNIST and the test set is never used for tuning.

Downloads go to root/raw/<name>/ and are deleted once the .npz is written (pass keep_raw=True to keep
them): the .amat text files are 110 MB against a 4 MB .npz, and fetch() re-verifies any kept file.
"""
from __future__ import annotations

import gzip
import os
import shutil
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..checks import check_choice
from ..files import atomic_write_bytes
from .download import DownloadError, OfflineError, fetch, offline_message

SPLITS = ("train", "valid", "test")
MNIST_VALID = 10000  # images at the end of MNIST's training set used as the valid split

# file name -> (url, sha256). Digests are TensorFlow Datasets' recorded ones:
# tensorflow/datasets tensorflow_datasets/url_checksums/binarized_mnist.txt (same URLs as here).
_LAROCHELLE = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
BINARIZED_MNIST_SOURCES = {
    "binarized_mnist_train.amat": (_LAROCHELLE + "binarized_mnist_train.amat",
                                   "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d"),
    "binarized_mnist_valid.amat": (_LAROCHELLE + "binarized_mnist_valid.amat",
                                   "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2"),
    "binarized_mnist_test.amat": (_LAROCHELLE + "binarized_mnist_test.amat",
                                  "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c"),
}
# tensorflow_datasets/url_checksums/mnist.txt records these for the cvdf-datasets mirror; the files are
# byte-identical on torchvision's ossci-datasets mirror and yann.lecun.com (same md5 in torchvision, and
# other loaders list these sha256 for both mirrors).
_OSSCI = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_SOURCES = {
    "train-images-idx3-ubyte.gz": (_OSSCI + "train-images-idx3-ubyte.gz",
                                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (_OSSCI + "train-labels-idx1-ubyte.gz",
                                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (_OSSCI + "t10k-images-idx3-ubyte.gz",
                                  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (_OSSCI + "t10k-labels-idx1-ubyte.gz",
                                  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
# tensorflow_datasets/url_checksums/fashion_mnist.txt (same URLs as here).
_ZALANDO = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_SOURCES = {
    "train-images-idx3-ubyte.gz": (_ZALANDO + "train-images-idx3-ubyte.gz",
                                   "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "train-labels-idx1-ubyte.gz": (_ZALANDO + "train-labels-idx1-ubyte.gz",
                                   "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "t10k-images-idx3-ubyte.gz": (_ZALANDO + "t10k-images-idx3-ubyte.gz",
                                  "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "t10k-labels-idx1-ubyte.gz": (_ZALANDO + "t10k-labels-idx1-ubyte.gz",
                                  "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}
SOURCES = {"binarized_mnist": BINARIZED_MNIST_SOURCES, "mnist": MNIST_SOURCES,
           "fashion_mnist": FASHION_MNIST_SOURCES}
NAMES = tuple(SOURCES)
ORIGIN = {"binarized_mnist": "Larochelle & Murray (2011) static binarization, " + _LAROCHELLE,
          "mnist": "MNIST (LeCun, Cortes & Burges), " + _OSSCI,
          "fashion_mnist": "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), " + _ZALANDO}
_IDX_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
              "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
_AMAT_WIDTH = 784 * 2  # one canonical .amat line: 784 digits, 783 spaces, a newline


def prepared_path(name: str, root: str | os.PathLike) -> Path:
    return Path(root) / f"{check_choice('name', name, NAMES)}.npz"


def is_prepared(name: str, root: str | os.PathLike) -> bool:
    """True when every split of `name` loads from `root` with no network (mnist_test.npz alone is not enough)."""
    return prepared_path(name, root).is_file()


def load_arrays(name: str, split: str, root: str | os.PathLike, download: bool = True, *,
                sources: dict | None = None) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(x, y, source) for one split. x uint8: (n, 784) in {0,1} for binarized_mnist, (n, 28, 28) 0..255
    otherwise; y int64 labels (n,) or None; source names the file read and where its data came from.

    A prepared file that cannot be read back (corrupt, truncated) is prepared again with a warning; with
    download=False it raises PreparedFileError (a ValueError) naming the file."""
    check_choice("name", name, NAMES)
    check_choice("split", split, SPLITS)
    root = Path(root)
    path = prepared_path(name, root)
    if not path.is_file():
        test_only = root / "mnist_test.npz"
        if name == "mnist" and split == "test" and test_only.is_file():
            return (*_read_split(test_only, "test", binary=False), f"{test_only} ({ORIGIN[name]})")
        if not download:
            raise OfflineError(offline_message(f"{name} split={split!r}",
                                               f"{path} does not exist and download=False", path.name))
        prepare(name, root, sources=sources)
    try:
        arrays = _read_split(path, split, binary=name == "binarized_mnist")
    except PreparedFileError as err:
        if not download:
            raise
        warnings.warn(f"{err}; preparing it again", stacklevel=2)
        prepare(name, root, sources=sources)   # written atomically over the bad file
        arrays = _read_split(path, split, binary=name == "binarized_mnist")
    return (*arrays, f"{path} ({ORIGIN[name]})")


class PreparedFileError(ValueError):
    """A prepared .npz that cannot be read back (corrupt, truncated, wrong arrays); the message names it."""


def _read_split(path: Path, split: str, binary: bool) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path) as data:            # allow_pickle stays off: a prepared file holds plain arrays
            if binary or split == "test":
                x = _get(data, path, f"x_{split}")
                y = data[f"y_{split}"] if f"y_{split}" in data.files else None
            else:
                x, y = split_train(_get(data, path, "x_train"), _get(data, path, "y_train"), split)
    except PreparedFileError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        pickled = "pickle" in str(err)             # numpy's own text would suggest turning allow_pickle on: never that
        reason = "it holds pickled Python objects, which vaelab never loads" if pickled else \
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'corrupt'}"
        raise PreparedFileError(f"prepared data file {path} is unreadable ({reason}); delete it and let vaelab "
                                "prepare it again") from err
    if x.dtype != np.uint8:
        raise PreparedFileError(f"prepared data file {path} is unreadable (images must be uint8, found {x.dtype}); "
                                "delete it and let vaelab prepare it again")
    return x, None if y is None else y.astype(np.int64)


def _get(data, path: Path, key: str) -> np.ndarray:
    if key not in data.files:
        raise PreparedFileError(f"prepared data file {path} is unreadable (it has no array {key!r}, only "
                                f"{', '.join(data.files)}); delete it and let vaelab prepare it again")
    return data[key]


def split_train(x: np.ndarray, y: np.ndarray, split: str, n_valid: int = MNIST_VALID) -> tuple[np.ndarray, np.ndarray]:
    """The official training set cut in two: 'valid' is the last n_valid rows, 'train' everything before."""
    check_choice("split", split, ("train", "valid"))
    if len(x) <= n_valid:
        raise ValueError(f"a training set of {len(x)} images cannot give up its last {n_valid} as 'valid'")
    cut = len(x) - n_valid
    return (x[:cut], y[:cut]) if split == "train" else (x[cut:], y[cut:])


def prepare(name: str, root: str | os.PathLike, *, sources: dict | None = None, keep_raw: bool = False,
            timeout: float = 60) -> Path:
    """Download `name`'s raw files (checksummed) and write root/<name>.npz atomically; return its path."""
    check_choice("name", name, NAMES)
    try:
        if name == "binarized_mnist":
            return prepare_binarized_mnist(root, sources=sources, keep_raw=keep_raw, timeout=timeout)
        return prepare_idx(name, root, sources=sources, keep_raw=keep_raw, timeout=timeout)
    except PermissionError as err:
        # e.g. VAELAB_DATA_DIR pointing at a read-only reference folder that lacks this dataset
        raise DownloadError(f"cannot write {name!r} into the data directory {root} ({err.strerror}); set "
                            "VAELAB_DATA_DIR (or root=) to a writable folder") from err


def prepare_binarized_mnist(root: str | os.PathLike, *, sources: dict | None = None, keep_raw: bool = False,
                            timeout: float = 60) -> Path:
    """The three .amat files -> binarized_mnist.npz with x_train, x_valid, x_test (n, 784) uint8."""
    raw = _fetch_all("binarized_mnist", root, sources, timeout)
    arrays = {f"x_{s}": read_amat(raw[f"binarized_mnist_{s}.amat"]) for s in SPLITS}
    return _finish("binarized_mnist", root, arrays, raw, keep_raw)


def prepare_idx(name: str, root: str | os.PathLike, *, sources: dict | None = None, keep_raw: bool = False,
                timeout: float = 60) -> Path:
    """The four IDX .gz files -> <name>.npz with x_train, y_train, x_test, y_test (uint8)."""
    check_choice("name", name, ("mnist", "fashion_mnist"))
    raw = _fetch_all(name, root, sources, timeout)
    arrays = {}
    for split, (images, labels) in _IDX_FILES.items():
        x, y = read_idx(raw[images]), read_idx(raw[labels])
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y):
            raise DownloadError(f"{images} / {labels}: expected (n, 28, 28) images and (n,) labels, "
                                f"got {x.shape} and {y.shape}")
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return _finish(name, root, arrays, raw, keep_raw)


def _fetch_all(name: str, root, sources: dict | None, timeout: float) -> dict[str, Path]:
    folder = Path(root) / "raw" / name  # per dataset: MNIST and Fashion-MNIST share file names
    return {file: fetch(url, folder / file, digest, timeout=timeout, prepared_name=f"{name}.npz")
            for file, (url, digest) in (sources or SOURCES[name]).items()}


def _finish(name: str, root, arrays: dict[str, np.ndarray], raw: dict[str, Path], keep_raw: bool) -> Path:
    dest = prepared_path(name, root)
    # a file object, so savez does not append '.npz' to the temp name
    atomic_write_bytes(dest, lambda f: np.savez_compressed(f, **arrays))
    if not keep_raw:
        folder = next(iter(raw.values())).parent
        for path in raw.values():
            path.unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder)
    return dest


def read_amat(path: str | os.PathLike) -> np.ndarray:
    """A Larochelle .amat file (one image per line, 784 space-separated 0/1) -> (n, 784) uint8."""
    buf = np.fromfile(path, dtype=np.uint8)
    # The published files are fixed-width; slicing bytes parses 50000 rows in well under a second.
    if buf.size and buf.size % _AMAT_WIDTH == 0:
        rows = buf.reshape(-1, _AMAT_WIDTH)
        if (rows[:, 1:-1:2] == ord(" ")).all() and (rows[:, -1] == ord("\n")).all():
            x = rows[:, 0::2] - np.uint8(ord("0"))
            if (x <= 1).all():
                return np.ascontiguousarray(x)
    try:  # anything else (CRLF, trailing blanks): the slow general parser
        x = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise DownloadError(f"{path} is not a valid .amat file: {err}") from err
    if x.shape[1:] != (784,) or not np.isin(x, (0, 1)).all():
        raise DownloadError(f"{path}: expected rows of 784 values in {{0, 1}}, got shape {x.shape}")
    return x.astype(np.uint8)


_IDX_MAGIC = {1: 2049, 3: 2051}  # labels idx1, images idx3: 0x0000, dtype 0x08 (uint8), ndim


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes (MNIST format) -> uint8 array of the shape its header gives."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DownloadError(f"{path} is not a readable gzip file: {err}") from err
    if len(data) < 4:
        raise DownloadError(f"{path} is too short to be an IDX file ({len(data)} bytes)")
    magic, ndim = int.from_bytes(data[:4], "big"), data[3]
    if _IDX_MAGIC.get(ndim) != magic:
        raise DownloadError(f"{path}: bad IDX magic number {magic} (expected 2049 for labels, 2051 for images)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DownloadError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DownloadError(f"{path}: header says shape {shape} ({int(np.prod(shape))} bytes) "
                            f"but {len(data) - header} bytes follow it")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
