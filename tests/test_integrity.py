"""Integrity wherever a file is read back: cached checkpoints, memo results, prepared data, the zoo manifest,
stray temporary files, shared permissions, and `vaelab check` on unusable directories."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import torch

from vaelab.cli import main
from vaelab.data import mnist
from vaelab.train import TrainConfig, cache_path, load_checkpoint, load_or_train, memo, save_checkpoint

TINY = dict(dataset="digits", latent_dim=2, hidden=[8], epochs=1, train_size=100)


def _flip_inside(path, needle: bytes) -> None:
    """Flip one byte in the middle of `needle`'s bytes inside the file: data that torch.load does not check."""
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0
    data[at + len(needle) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def _weight_bytes(model) -> bytes:
    w = model.decoder.net[0].weight.detach().contiguous()
    return w.numpy().tobytes()


# -- checkpoints ---------------------------------------------------------------------------------------------------
def test_a_byte_flipped_cache_entry_is_detected_and_retrained(monkeypatch):
    import vaelab.train.cache as cache_mod

    cfg = TrainConfig(**TINY)
    model, _ = load_or_train(cfg, device="cpu")
    path = cache_path(cfg)
    _flip_inside(path, _weight_bytes(model))
    with pytest.raises(ValueError, match="integrity"):     # a CheckpointError
        load_checkpoint(path)
    calls = []
    real = cache_mod.train
    monkeypatch.setattr(cache_mod, "train", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.warns(UserWarning, match="retraining"):
        again, _ = load_or_train(cfg, device="cpu")
    assert calls == [1]
    load_checkpoint(path)                                     # rewritten intact
    torch.testing.assert_close(again.decoder.net[0].weight, model.decoder.net[0].weight)


def test_a_cache_entry_marked_interrupted_is_never_served(monkeypatch):
    import vaelab.train.cache as cache_mod

    cfg = TrainConfig(**TINY)
    model, history = load_or_train(cfg, device="cpu")
    save_checkpoint(cache_path(cfg), model, train_config=cfg.to_dict(), history=history, interrupted=True)
    calls = []
    real = cache_mod.train
    monkeypatch.setattr(cache_mod, "train", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.warns(UserWarning, match="interrupted"):
        load_or_train(cfg, device="cpu")
    assert calls == [1] and load_checkpoint(cache_path(cfg))[1]["interrupted"] is False


def test_a_byte_flipped_memo_result_is_recomputed():
    calls = []

    def square(x):
        calls.append(1)
        return {"y": x * x}

    x = torch.arange(1000, dtype=torch.float32)
    first = memo(square, x)
    from vaelab.train.result_cache import memo_path
    path = memo_path(square, (x,), {})
    _flip_inside(path, (x * x).numpy().tobytes())
    with pytest.warns(UserWarning, match="recomputing"):
        again = memo(square, x)
    assert len(calls) == 2 and torch.equal(again["y"], first["y"])


def test_cached_files_are_readable_by_the_group(tmp_path):
    old = os.umask(0o022)
    try:
        from vaelab.models import build_model
        path = save_checkpoint(tmp_path / "c" / "checkpoint.pt", build_model("mlp", (1, 8, 8), 2, [8]))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_stray_temp_files_of_dead_or_old_writers_are_swept(tmp_path):
    from vaelab.models import build_model

    folder = tmp_path / "entry"
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = os.getppid()
    stray_dead = folder / f".checkpoint.pt.{dead.pid}.abc123.tmp"
    stray_old = folder / ".checkpoint.pt.k3j4h5g6.tmp"           # the pre-pid naming
    in_flight = folder / f".checkpoint.pt.{alive}.xyz789.tmp"      # another live writer's: not ours to remove
    for p in (stray_dead, stray_old, in_flight):
        p.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(stray_old, (two_hours_ago, two_hours_ago))
    save_checkpoint(folder / "checkpoint.pt", build_model("mlp", (1, 8, 8), 2, [8]))
    assert sorted(p.name for p in folder.iterdir()) == sorted(["checkpoint.pt", in_flight.name])


# -- prepared data -------------------------------------------------------------------------------------------------
def _idx_server_files(server):
    from test_download import _idx_set
    arrays = _idx_set(server.folder, n_train=10003, n_test=3)
    return arrays, server.sources(*mnist.MNIST_SOURCES)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_prepared_npz_is_prepared_again(damage, server, tmp_path):
    arrays, sources = _idx_server_files(server)
    root = tmp_path / "data"
    mnist.load_arrays("mnist", "test", root, sources=sources)
    npz = mnist.prepared_path("mnist", root)
    if damage == "garbage":
        npz.write_bytes(b"not an npz file")
    else:
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    with pytest.raises(ValueError, match=str(npz)):               # offline: the error names the file
        mnist.load_arrays("mnist", "test", root, download=False)
    with pytest.warns(UserWarning, match=f"{npz}.*preparing it again"):
        x, y, _ = mnist.load_arrays("mnist", "test", root, sources=sources)
    np.testing.assert_array_equal(x, arrays["x_test"])
    np.testing.assert_array_equal(y, arrays["y_test"])


def test_a_prepared_npz_with_pickled_objects_is_refused_without_suggesting_allow_pickle(tmp_path):
    npz = mnist.prepared_path("mnist", tmp_path)
    np.savez(npz, x_test=np.array([{"evil": 1}], dtype=object), y_test=np.zeros(1))
    with pytest.raises(ValueError, match=str(npz)) as err:
        mnist.load_arrays("mnist", "test", tmp_path, download=False)
    assert "allow_pickle" not in str(err.value)


def test_a_corrupt_cached_corpus_file_is_downloaded_again(server, tmp_path, monkeypatch):
    from test_corpora import LINES, pin_fake
    from vaelab.data.corpora import CorpusFileError, load_corpus

    sources = pin_fake(monkeypatch, server, "ptb", LINES)     # tiny PTB files, pinned like the real ones
    root = tmp_path / "data"
    good = load_corpus("ptb", "test", root, sources=sources, max_len=5)
    bad = root / "ptb" / "ptb.test.txt"
    bad.write_bytes(b"\xff\xfe not utf-8 \x80")
    with pytest.raises(CorpusFileError, match=str(bad)):
        load_corpus("ptb", "test", root, download=False, max_len=5)
    with pytest.warns(UserWarning, match=f"{bad}.*downloading it again"):
        again = load_corpus("ptb", "test", root, sources=sources, max_len=5)
    assert torch.equal(again.x, good.x)


# -- the zoo manifest ----------------------------------------------------------------------------------------------
def test_malformed_manifest_entries_are_dropped_one_by_one(tmp_path):
    from vaelab.zoo import ZooWarning, read_manifest

    good = {"name": "a", "mode": "quick", "config": {}, "sha256": "0" * 64, "metrics": {"elbo": -1.0},
            "checkpoint": "/x"}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"format": 1, "entries": {"quick:a": good, "quick:b": "garbage",
                                                          "quick:c": {"name": "c"}}}))
    with pytest.warns(ZooWarning, match="quick:b") as caught:
        man = read_manifest(path)
    assert list(man["entries"]) == ["quick:a"] and any("quick:c" in str(w.message) for w in caught)


BUILD_ONE = textwrap.dedent("""
    import sys, time
    from dataclasses import replace
    from pathlib import Path
    import vaelab.train.cache as cache_mod
    from vaelab import zoo
    from vaelab.zoo import store
    name, me, other, shipped = sys.argv[1:5]
    store.SHIPPED_DIR = Path(shipped)
    real = cache_mod.train

    def train_when_both_started(cfg, **kw):
        Path(me).touch()                       # both builds are past their start before either records
        while not Path(other).exists():
            time.sleep(0.05)
        return real(replace(cfg, epochs=1, train_size=50), **kw)

    cache_mod.train = train_when_both_started
    zoo.build([name], quick=True, device="cpu", progress=False)
""")


def test_two_concurrent_zoo_builds_keep_every_entry(tmp_path):
    from vaelab import zoo

    env = {**os.environ, "OMP_NUM_THREADS": "1", "VAELAB_PROGRESS": "0", "VAELAB_CACHE": str(tmp_path / "cache")}
    names = ["remedy-mlp/none", "remedy-mlp/beta"]
    flags = [str(tmp_path / "a.started"), str(tmp_path / "b.started")]
    procs = [subprocess.Popen([sys.executable, "-c", BUILD_ONE, names[i], flags[i], flags[1 - i],
                               str(tmp_path / "none")], env=env, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    man = json.loads((tmp_path / "cache" / "zoo" / "manifest.json").read_text())
    assert sorted(man["entries"]) == sorted(f"quick:{n}" for n in names)


# -- vaelab check ---------------------------------------------------------------------------------------------------
def test_check_reports_an_unusable_cache_and_data_directory(tmp_path, monkeypatch, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("VAELAB_CACHE", str(f / "cache"))                   # under a regular file
    monkeypatch.setenv("VAELAB_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(tmp_path / "data") else
                        real(p, mode, **kw))                               # as root, chmod would not stop writes
    rc = main(["check"])
    out = capsys.readouterr()
    assert rc != 0 and "Traceback" not in out.out + out.err
    rows = {line.split()[0]: line for line in out.out.splitlines()[-2:]}    # the `writable:` section
    assert "NOT WRITABLE" in rows["cache_dir"] and str(f) in rows["cache_dir"] and "VAELAB_CACHE" in rows["cache_dir"]
    assert "NOT WRITABLE" in rows["data_dir"] and str(tmp_path / "data") in rows["data_dir"]
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    assert main(["check"]) == 0                  # a read-only data folder alone is allowed (a reference copy)
