"""PTB / Yahoo downloaders against a local HTTP server serving tiny files: digests checked, nothing partial."""
import hashlib
import io
import tarfile

import pytest
import torch

from vaelab.data import available_datasets
from vaelab.data.corpora import SOURCES, load_corpus
from vaelab.data.download import DownloadError, OfflineError
from vaelab.data.text import EOS, PAD

LINES = {"train": "the cat sat\nthe dog sat on the mat\n<unk> cat\n",
         "valid": "the cat ran\n", "test": "a dog sat\nthe the the the the\n"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def ptb_sources(server, wrong=None):
    for split, text in LINES.items():
        (server.folder / f"ptb.{split}.txt").write_text(text)
    return {s: (server.url(f"ptb.{s}.txt"), None, "0" * 32 if s == wrong else md5(t)) for s, t in LINES.items()}


def test_ptb_download_checked_by_md5_then_cached(server, tmp_path):
    root = tmp_path / "data"
    ds = load_corpus("ptb", "test", root, sources=ptb_sources(server), max_len=5)
    vocab = ds.meta["vocab"]
    # vocabulary from the training split, most frequent first: the (3), then cat, sat (2 each, a-z), dog (1)
    assert vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and vocab[4:8] == ["the", "cat", "sat", "dog"]
    assert ds.x.tolist()[0] == [3, 7, 6, EOS, PAD]          # 'a' is not in the training vocabulary
    assert ds.x.tolist()[1] == [4, 4, 4, 4, EOS]            # cut to max_len - 1 words
    assert ds.meta["kind"] == "text" and ds.y is None
    assert available_datasets(root)["ptb"] == "ready"
    requests = server.requests
    again = load_corpus("ptb", "test", root, sources=ptb_sources(server), max_len=5)
    assert server.requests == requests and torch.equal(again.x, ds.x)     # no network the second time


def test_ptb_wrong_digest_leaves_nothing_behind(server, tmp_path):
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match="MD5 mismatch"):
        load_corpus("ptb", "train", root, sources=ptb_sources(server, wrong="valid"))
    assert not (root / "ptb" / "ptb.valid.txt").exists()
    assert not [p for p in (root / "ptb").iterdir() if p.name.startswith(".")]


def test_offline_without_files_names_the_offline_set(tmp_path):
    with pytest.raises(OfflineError, match="synthetic_text"):
        load_corpus("ptb", "train", tmp_path, download=False)


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
    assert SOURCES["yahoo"]["archive"][1:] == (None, None)
    make_yahoo_archive(server.folder)
    sources = {"archive": (server.url("yahoo.tar.gz"), None, None)}
    with pytest.raises(DownloadError, match="allow_unverified=True"):
        load_corpus("yahoo", "train", tmp_path, sources=sources)
    ds = load_corpus("yahoo", "test", tmp_path, sources=sources, allow_unverified=True)
    assert ds.y.tolist() == [2]                           # the topic label before the tab
    assert ds.meta["vocab"][4:7] == ["answer", "bad", "good"]
    assert ds.x.tolist()[0][:3] == [4, 5, EOS]
    assert not (tmp_path / "yahoo" / "yahoo.tar.gz").exists()   # the archive is not kept
