"""One error surface for the CLI: every failure is one line on stderr and a non-zero exit; --debug shows the rest."""
from __future__ import annotations

import argparse
import os
import pickle
import re
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import torch

from helpers import vaelab_cli
from vaelab.cli import main
from vaelab.data.download import DownloadError, OfflineError
from vaelab.train import TrainConfig, save_checkpoint, train
from vaelab.train.loop import NonFiniteLossError

FORBIDDEN = ("weights_only", "allow_pickle", "Traceback")


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert not any(word in err for word in FORBIDDEN), err
    return lines[0]


@pytest.fixture
def run_dir(tmp_path):
    model, history = train(TrainConfig(dataset="digits", latent_dim=2, hidden=[8], epochs=1, train_size=100),
                           device="cpu")
    cfg = {"dataset": "digits", "binarize": None, "seed": 0, "objective": "elbo"}
    save_checkpoint(tmp_path / "run" / "checkpoint.pt", model, train_config=cfg, history=history)
    return tmp_path / "run"


def _corrupt(kind: str, path: Path, good: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "garbage":
        path.write_bytes(b"this is not a checkpoint at all")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "pickled object":             # torch's own message would suggest weights_only=False
        torch.save({"format": 1, "model_config": argparse.Namespace(evil=True)}, path)
    elif kind == "directory":
        path.mkdir()


@pytest.mark.parametrize("kind", ["garbage", "truncated", "pickled object", "directory"])
def test_a_bad_checkpoint_is_one_line_naming_the_file(kind, run_dir, tmp_path, capsys):
    bad = tmp_path / "bad" / "checkpoint.pt"
    _corrupt(kind, bad, run_dir / "checkpoint.pt")
    rc = main(["eval", str(bad), "--iw-samples", "2", "--points", "10"])
    line = one_line(capsys.readouterr().err)
    assert rc != 0 and str(bad) in line


def test_the_subprocess_prints_no_traceback_and_debug_shows_it(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"garbage")
    r = vaelab_cli("eval", str(bad))
    assert r.returncode != 0
    assert str(bad) in one_line(r.stderr)
    r = vaelab_cli("--debug", "eval", str(bad))
    assert r.returncode != 0 and "Traceback" in r.stderr and str(bad) in r.stderr


@pytest.mark.parametrize("err, names", [
    (PermissionError(13, "Permission denied", "/srv/cache/x.pt"), "/srv/cache/x.pt"),
    (FileNotFoundError(2, "No such file or directory", "/nope/data.npz"), "/nope/data.npz"),
    (IsADirectoryError(21, "Is a directory", "/tmp/somedir"), "/tmp/somedir"),
    (NotADirectoryError(20, "Not a directory", "/etc/hostname/run"), "/etc/hostname/run"),
    (NonFiniteLossError("loss became nan at epoch 2, step 7", [], 7), "epoch 2, step 7"),
    (OfflineError("could not get x.npz: no network.\n  - Datasets that always work with no network: digits."),
     "digits"),
    (DownloadError("SHA-256 mismatch for http://x/y"), "http://x/y"),
    (zipfile.BadZipFile("File is not a zip file"), "zip"),
    (pickle.UnpicklingError("Weights only load failed. Re-running with weights_only=False will work"), "pickled"),
    (RuntimeError("CUDA out of memory"), "CUDA out of memory"),
    (KeyError("boom"), "boom"),
])
def test_every_error_is_one_line_and_a_nonzero_exit(err, names, monkeypatch, capsys):
    def failing(args):
        raise err

    monkeypatch.setattr("vaelab.cli.check.run", failing)
    rc = main(["check"])
    line = one_line(capsys.readouterr().err)
    assert rc not in (0, None) and names in line and line.startswith("vaelab check:")
    monkeypatch.setattr("vaelab.cli.check.run", failing)
    with pytest.raises(type(err)):
        main(["--debug", "check"])


@pytest.mark.parametrize("points", ["0", "-3"])
def test_eval_and_gap_refuse_zero_or_negative_points(points, run_dir, capsys):
    for command in ("eval", "gap"):
        rc = main([command, str(run_dir), "--points", points, "--iw-samples", "2"])
        line = one_line(capsys.readouterr().err)
        assert rc == 2 and f"points must be an integer >= 1, got {points}" in line


def _no_training(monkeypatch):
    import vaelab.train

    monkeypatch.setattr(vaelab.train, "train", lambda *a, **k: pytest.fail("trained before checking --out"))


@pytest.mark.parametrize("where", ["under a file", "is a file", "unwritable"])
def test_train_checks_out_before_any_work(where, tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    f = tmp_path / "notes.txt"
    f.write_text("a regular file")
    out = {"under a file": f / "run", "is a file": f, "unwritable": tmp_path / "ro" / "run"}[where]
    if where == "unwritable":
        (tmp_path / "ro").mkdir()
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == tmp_path / "ro" else
                            real(p, mode, **kw))
    rc = main(["train", "--epochs", "1", "--train-size", "50", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert rc == 2 and "--out" in line and str(f if where != "unwritable" else tmp_path / "ro") in line


def test_zoo_build_checks_the_cache_directory_before_any_work(tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    import vaelab.train.cache as cache_mod
    monkeypatch.setattr(cache_mod, "train", lambda *a, **k: pytest.fail("trained before checking the cache"))
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("VAELAB_CACHE", str(f / "cache"))
    rc = main(["zoo", "build", "remedy-mlp/none", "--quick", "--device", "cpu"])
    line = one_line(capsys.readouterr().err)
    assert rc != 0 and str(f) in line and "VAELAB_CACHE" in line


def test_offline_is_one_line_that_names_the_offline_datasets(tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("VAELAB_DATA_DIR", str(tmp_path / "data"))
    rc = main(["train", "--dataset", "mnist", "--epochs", "1", "--out", str(tmp_path / "run")])
    line = one_line(capsys.readouterr().err)
    assert rc != 0 and "digits" in line and "VAELAB_DATA_DIR" in line


def test_no_message_recommends_unsafe_loading():
    """weights_only=False / allow_pickle=True would run code from a downloaded or cached file: never suggest it."""
    package = Path(__file__).resolve().parents[1] / "vaelab"
    unsafe = re.compile(r"weights_only\s*=\s*False|allow_pickle\s*=\s*True")
    hits = [f"{p}:{i}" for p in package.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if unsafe.search(line)]
    assert hits == []


def _serve_yahoo(server, monkeypatch, tmp_path):
    """A tiny Yahoo archive on the local server, put where the real (digest-less) Yahoo source is."""
    import io
    import tarfile

    from vaelab.data import corpora

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for split, text in {"train": "1\tgood answer here\n2\tbad answer\n3\tgood good answer\n",
                            "valid": "1\tgood\n", "test": "2\tanswer bad\n"}.items():
            info = tarfile.TarInfo(f"yahoo_data/yahoo.{split}.txt")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    (server.folder / "yahoo.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setitem(corpora.SOURCES, "yahoo", {"archive": (server.url("yahoo.tar.gz"), None, None)})
    monkeypatch.setitem(corpora.MAX_LEN, "yahoo", 6)                # keeps the LSTM's few steps cheap
    monkeypatch.setenv("VAELAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "yahoo"


def error_line(err: str) -> str:
    """one_line() of stderr after the 'vaelab: downloading URL' progress lines, which are not part of the error."""
    return one_line("\n".join(line for line in err.splitlines() if not line.startswith("vaelab: downloading")))


YAHOO_TRAIN = ["train", "--dataset", "yahoo", "--model", "lstm", "--latent-dim", "2", "--hidden", "8", "--epochs",
               "1", "--batch-size", "2", "--device", "cpu", "--no-progress"]


@pytest.mark.filterwarnings("ignore:posterior collapse")     # one epoch on three documents
def test_yahoo_from_the_cli_needs_the_opt_in_flag(server, tmp_path, monkeypatch, capsys):
    folder = _serve_yahoo(server, monkeypatch, tmp_path)
    out = tmp_path / "run"
    rc = main([*YAHOO_TRAIN, "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert rc == 1 and line.startswith("vaelab train:") and "yahoo.tar.gz" in line
    assert "--allow-unverified-download" in line and "allow_unverified=True" in line
    assert server.requests == 0 and not (out / "checkpoint.pt").exists()
    assert not folder.exists() or list(folder.iterdir()) == []
    rc = main([*YAHOO_TRAIN, "--allow-unverified-download", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert server.requests == 1 and (out / "checkpoint.pt").is_file()
    assert sorted(p.name for p in folder.iterdir()) == ["yahoo.test.txt", "yahoo.train.txt", "yahoo.valid.txt"]
    # once cached, the corpus is used without the flag and without the network
    rc = main([*YAHOO_TRAIN, "--out", str(tmp_path / "run2")])
    assert rc == 0 and server.requests == 1


def test_allow_unverified_download_never_bypasses_a_pinned_digest(server, tmp_path, monkeypatch, capsys):
    from vaelab.data import corpora

    _no_training(monkeypatch)
    (server.folder / "ptb.valid.txt").write_text("the cat ran\n")
    bad = {s: (server.url("ptb.valid.txt"), "0" * 64, None) for s in ("train", "valid", "test")}
    monkeypatch.setitem(corpora.SOURCES, "ptb", bad)
    monkeypatch.setenv("VAELAB_DATA_DIR", str(tmp_path / "data"))
    rc = main(["train", "--dataset", "ptb", "--model", "lstm", "--allow-unverified-download",
               "--out", str(tmp_path / "run")])
    line = error_line(capsys.readouterr().err)
    assert rc == 1 and "SHA-256 mismatch" in line and "0" * 64 in line
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []
    # for a dataset that is not a downloaded corpus the flag does nothing at all: straight on to training
    import vaelab.train

    def reached(*args, **kwargs):
        raise RuntimeError("reached training")

    monkeypatch.setattr(vaelab.train, "train", reached)
    monkeypatch.setattr(corpora, "corpus_files", lambda *a, **k: pytest.fail("prepared a corpus for digits"))
    rc = main(["train", "--dataset", "digits", "--allow-unverified-download", "--out", str(tmp_path / "run")])
    assert rc == 1 and "reached training" in one_line(capsys.readouterr().err)
