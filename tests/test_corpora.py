"""Text corpora: downloads from a local HTTP server serving tiny files (pins checked, nothing partial left), cached
files checked again, and short Yelp against the real reference copies when they sit beside the checkout."""
import hashlib
import io
import re
import tarfile
import warnings
from pathlib import Path

import pytest
import torch

from vaelab.data import available_datasets
from vaelab.data import corpora
from vaelab.data.corpora import SIZES, SOURCES, CorpusFileError, load_corpus
from vaelab.data.download import DownloadError, OfflineError
from vaelab.data.text import EOS, PAD, UNK

from helpers import closed_port

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The reference copies by their upstream names: what SHA256SUMS lists, and what SOURCES must pin.
REFERENCE = {("short_yelp", "train"): "short_yelp/short_yelp.train.10000.txt",
             ("short_yelp", "valid"): "short_yelp/short_yelp.valid.txt",
             ("short_yelp", "test"): "short_yelp/short_yelp.test.txt",
             ("ptb", "valid"): "ptb/ptb.valid.txt", ("ptb", "test"): "ptb/ptb.test.txt"}

LINES = {"train": "the cat sat\nthe dog sat on the mat\n<unk> cat\n",
         "valid": "the cat ran\n", "test": "a dog sat\nthe the the the the\n"}
YELP = {"train": "1\tthe food is great .\n0\tthe food is cold .\n1\tgreat staff\n",
        "valid": "0\tcold staff .\n", "test": "1\tgreat food\n0\tawful service\n"}


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Point the real sources at a refused port, so even a bug cannot make these tests download anything."""
    port = closed_port()
    for name, files in SOURCES.items():
        dead = {s: (f"http://127.0.0.1:{port}/{name}/{s}", sha, md5) for s, (_, sha, md5) in files.items()}
        monkeypatch.setitem(SOURCES, name, dead)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def pin_fake(monkeypatch, server, name, texts):
    """Serve `texts` (split -> file text) as corpus `name`, pinned the way the real corpus is.

    Each split gets the kinds of pin its real source has (SHA-256 and/or MD5, and a size where SIZES has one),
    with the values of the tiny file; SOURCES[name] and SIZES are patched to them. Returns those sources."""
    real = dict(SOURCES[name])
    pinned = {}
    for split, text in texts.items():
        data = text.encode()
        upstream = corpora.file_name(name, split)
        (server.folder / upstream).write_bytes(data)
        _, sha, md = real[split]
        pinned[split] = (server.url(upstream), hashlib.sha256(data).hexdigest() if sha else None,
                         hashlib.md5(data).hexdigest() if md else None)
        if (name, split) in SIZES:
            monkeypatch.setitem(SIZES, (name, split), len(data))
    monkeypatch.setitem(SOURCES, name, pinned)
    return pinned


def leftovers(folder: Path) -> list[str]:
    """Hidden files (temporary or unchecked downloads) left in a corpus folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.exists() else []


# -- PTB: valid/test by SHA-256, train by MD5 and size ----------------------------------------------------------
def test_ptb_download_checked_then_cached(server, tmp_path, monkeypatch):
    root = tmp_path / "data"
    sources = pin_fake(monkeypatch, server, "ptb", LINES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # a self-consistent download is not re-fetched
        ds = load_corpus("ptb", "test", root, sources=sources, max_len=5)
    vocab = ds.meta["vocab"]
    # vocabulary from the training split, most frequent first: the (3), then cat, sat (2 each, a-z), dog (1)
    assert vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and vocab[4:8] == ["the", "cat", "sat", "dog"]
    assert ds.x.tolist()[0] == [3, 7, 6, EOS, PAD]          # 'a' is not in the training vocabulary
    assert ds.x.tolist()[1] == [4, 4, 4, 4, EOS]            # cut to max_len - 1 words
    assert ds.meta["kind"] == "text" and ds.y is None
    assert available_datasets(root)["ptb"] == "ready" and server.requests == 3
    again = load_corpus("ptb", "test", root, sources=sources, max_len=5)
    assert server.requests == 3 and torch.equal(again.x, ds.x)     # no network the second time


@pytest.mark.parametrize("wrong, message", [("train", "MD5 " + "0" * 32), ("valid", "SHA-256 mismatch")])
def test_ptb_wrong_digest_leaves_nothing_behind(server, tmp_path, monkeypatch, wrong, message):
    root = tmp_path / "data"
    sources = pin_fake(monkeypatch, server, "ptb", LINES)
    url, sha, md = sources[wrong]
    sources[wrong] = (url, sha and "0" * 64, md and "0" * 32)
    with pytest.raises(DownloadError, match=message):
        load_corpus("ptb", "train", root, sources=sources)
    folder = root / "ptb"
    assert not (folder / f"ptb.{wrong}.txt").exists() and leftovers(folder) == []
    assert available_datasets(root)["ptb"] == "download"


def test_ptb_train_needs_both_its_md5_and_its_size(server, tmp_path, monkeypatch):
    """The MD5 alone is weak (collisions are cheap): a file of another size is refused even when its MD5 matches."""
    root = tmp_path / "data"
    sources = pin_fake(monkeypatch, server, "ptb", LINES)
    size = len(LINES["train"].encode())
    monkeypatch.setitem(SIZES, ("ptb", "train"), size + 1)
    with pytest.raises(DownloadError) as err:
        load_corpus("ptb", "train", root, sources=sources)
    msg = str(err.value)
    assert f"expected {size + 1} bytes with MD5 {md5(LINES['train'])}" in msg and f"got {size} bytes" in msg
    assert not (root / "ptb" / "ptb.train.txt").exists() and leftovers(root / "ptb") == []
    monkeypatch.setitem(SIZES, ("ptb", "train"), size)
    ds = load_corpus("ptb", "train", root, sources=sources, max_len=8)
    assert (root / "ptb" / "ptb.train.txt").read_text() == LINES["train"] and ds.x.shape == (3, 8)


def test_offline_without_files_names_the_offline_set(tmp_path):
    with pytest.raises(OfflineError, match="synthetic_text"):
        load_corpus("ptb", "train", tmp_path, download=False)


# -- short Yelp: every split by SHA-256 and size, under its upstream file name ----------------------------------
def test_short_yelp_download_pinned_by_sha256(server, tmp_path, monkeypatch):
    root = tmp_path / "data"
    sources = pin_fake(monkeypatch, server, "short_yelp", YELP)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_corpus("short_yelp", "test", root, sources=sources)
    # train words by count, ties a-z: '.', food, great, is, the (2 each), then cold, staff (1 each)
    assert ds.meta["vocab"][4:] == [".", "food", "great", "is", "the", "cold", "staff"]
    assert ds.x.shape == (2, 16)                             # short Yelp's max_len: 15 words + EOS
    assert ds.x[0, :3].tolist() == [6, 5, EOS] and ds.x[1, :3].tolist() == [UNK, UNK, EOS]
    assert ds.y.tolist() == [1, 0]                           # the sentiment label before the tab
    folder = root / "short_yelp"
    assert sorted(p.name for p in folder.iterdir()) == ["short_yelp.test.txt", "short_yelp.train.10000.txt",
                                                        "short_yelp.valid.txt"]
    assert server.requests == 3 and available_datasets(root)["short_yelp"] == "ready"


@pytest.mark.parametrize("wrong", ["train", "test"])
def test_short_yelp_wrong_sha256_leaves_no_partial_file(server, tmp_path, monkeypatch, wrong):
    root = tmp_path / "data"
    sources = pin_fake(monkeypatch, server, "short_yelp", YELP)
    url, _, _ = sources[wrong]
    sources[wrong] = (url, "0" * 64, None)
    with pytest.raises(DownloadError, match=re.escape(f"SHA-256 mismatch for {url}")):
        load_corpus("short_yelp", "train", root, sources=sources)
    folder = root / "short_yelp"
    kept = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    # splits are fetched train, valid, test: those before the bad one are verified files; nothing else is left
    assert kept == ([] if wrong == "train" else ["short_yelp.train.10000.txt", "short_yelp.valid.txt"])
    assert available_datasets(root)["short_yelp"] == "download"


def _flip_one_byte(path: Path) -> None:
    """Change the last letter in place: same size, still UTF-8 text, so only the digest can tell."""
    data = bytearray(path.read_bytes())
    i = len(data) - 2                                   # the byte before the final newline
    data[i] = ord("x") if data[i] != ord("x") else ord("y")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name, texts, corrupt, split", [
    ("short_yelp", YELP, "test", "test"),
    ("short_yelp", YELP, "train", "valid"),     # the vocabulary comes from train, so train is checked too
    ("ptb", LINES, "valid", "valid"),
])
def test_a_corrupted_cached_split_is_refused_offline_and_downloaded_again(server, tmp_path, monkeypatch, name, texts,
                                                                          corrupt, split):
    root = tmp_path / "data"
    sources = pin_fake(monkeypatch, server, name, texts)
    good = load_corpus(name, split, root, sources=sources)
    path = root / name / corpora.file_name(name, corrupt)
    original = path.read_bytes()
    _flip_one_byte(path)
    with pytest.raises(CorpusFileError, match=path.name) as err:
        load_corpus(name, split, root, download=False)
    assert err.value.path == path and str(path) in str(err.value) and "SHA-256" in str(err.value)
    assert server.requests == 3
    with pytest.warns(UserWarning, match=f"{path.name}.*downloading it again"):
        again = load_corpus(name, split, root, sources=sources)
    assert server.requests == 4 and path.read_bytes() == original      # only the bad split came again
    assert torch.equal(again.x, good.x) and again.meta["vocab"] == good.meta["vocab"]


# -- Yahoo: no digest anywhere, so only with an explicit opt-in -------------------------------------------------
def make_yahoo_archive(folder):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for split, text in {"train": "1\tgood answer here\n2\tbad answer\n", "valid": "1\tgood\n",
                            "test": "2\tanswer bad\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"datasets/yahoo_data/yahoo.{split}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (folder / "yahoo.tar.gz").write_bytes(buf.getvalue())


def test_yahoo_has_no_published_digest_so_it_needs_an_explicit_opt_in(server, tmp_path):
    make_yahoo_archive(server.folder)
    sources = {"archive": (server.url("yahoo.tar.gz"), None, None)}
    with pytest.raises(DownloadError, match="allow_unverified=True.*--allow-unverified-download"):
        load_corpus("yahoo", "train", tmp_path, sources=sources)
    assert server.requests == 0                                 # refused before any request
    ds = load_corpus("yahoo", "test", tmp_path, sources=sources, allow_unverified=True)
    assert ds.y.tolist() == [2]                           # the topic label before the tab
    assert ds.meta["vocab"][4:7] == ["answer", "bad", "good"]
    assert ds.x.tolist()[0][:3] == [4, 5, EOS]
    assert not (tmp_path / "yahoo" / "yahoo.tar.gz").exists()   # the archive is not kept


# -- the real files, when the reference copies sit beside the checkout ------------------------------------------
def _sums() -> dict[str, str]:
    lines = (SHARED / "SHA256SUMS").read_text().splitlines()
    return {path: digest for digest, path in (line.split(maxsplit=1) for line in lines if line.strip())}


@pytest.mark.skipif(not (SHARED / "SHA256SUMS").is_file(), reason="no reference data beside the checkout")
def test_pinned_digests_and_sizes_are_those_of_the_reference_copies():
    """Guards against a typo in a pin (_no_internet changes only the URLs)."""
    sums = _sums()
    for (name, split), path in REFERENCE.items():
        assert SOURCES[name][split][1] == sums[path], (name, split)
        if (SHARED / path).is_file():
            assert SIZES[(name, split)] == (SHARED / path).stat().st_size, (name, split)


def _reference_lines(split: str) -> list[tuple[int, list[str]]]:
    path = SHARED / REFERENCE[("short_yelp", split)]
    return [(int(label), text.split()) for label, text in
            (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())]


@pytest.mark.skipif(not all((SHARED / p).is_file() for (n, _), p in REFERENCE.items() if n == "short_yelp"),
                    reason="no short Yelp reference copies beside the checkout")
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_short_yelp_from_the_reference_copies(split):
    ds = load_corpus("short_yelp", split, SHARED, download=False)     # download=False: never touch the copies
    rows = _reference_lines(split)
    train_words = {w for _, words in _reference_lines("train") for w in words}
    assert ds.x.shape == (10000, 16) and ds.x.dtype == torch.long
    assert ds.y.tolist() == [label for label, _ in rows] and set(ds.y.tolist()) == {0, 1}
    if split == "train":
        assert ds.y.sum().item() == 5963                   # a positive share of 0.5963
    # every sentence fits whole (at most 15 words), so each row is its words, EOS, then padding
    lengths = (ds.x != PAD).sum(1) - 1
    assert lengths.tolist() == [len(words) for _, words in rows]
    assert (ds.x.gather(1, lengths[:, None]) == EOS).all()
    # the vocabulary is exactly the training split's words (plus the 4 specials, which <unk> already is)
    vocab = ds.meta["vocab"]
    assert vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and set(vocab[4:]) == train_words - {"<unk>"}
    expect = [[w if w in train_words else "<unk>" for w in words] for _, words in rows[:50]]
    assert [[vocab[i] for i in row[:n]] for row, n in zip(ds.x[:50].tolist(), lengths[:50].tolist())] == expect
    assert available_datasets(SHARED)["short_yelp"] == "ready"


def test_ptb_train_with_the_right_size_but_wrong_bytes_is_refused(tmp_path):
    """PTB train has only an MD5 and a size: a cached copy of the right size with other bytes must not load."""
    from vaelab.data import corpora

    folder = tmp_path / "ptb"
    folder.mkdir()
    path = folder / "ptb.train.txt"
    path.write_bytes(b"x" * corpora.SIZES[("ptb", "train")])
    with pytest.raises(corpora.CorpusFileError, match="published MD5") as info:
        corpora.verify_cached("ptb", "train", path)
    assert info.value.path == path and "delete it" in str(info.value)
