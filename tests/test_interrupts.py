"""Ctrl-C, SIGKILL and non-finite losses never leave a partial model where a complete one is expected.

The signal tests start real processes (python -m vaelab train, a load_or_train script), wait until training has
finished at least one epoch (the progress bar says so), and send a real SIGINT or SIGKILL.
"""
from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from vaelab.cli import main
from vaelab.train import TrainConfig, cache_path, load_checkpoint, load_or_train
from vaelab.train.loop import History

posix_only = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")
TINY = dict(dataset="digits", latent_dim=2, hidden=[8], batch_size=100, train_size=100)
PROGRESS = r"(?<!\d)([1-9]\d*)/\d+ \["           # tqdm's "k/N [" with k >= 1: at least one epoch finished


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return {**env, "VAELAB_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "VAELAB_PROGRESS": "1"}


def _default_sigint() -> None:
    # A job started in the background by a non-interactive shell (`cmd &`, as some CI runners and nohup wrappers
    # do) inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt handler, so Ctrl-C could never
    # reach vaelab. Give the child what a terminal gives it: the default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args, tmp_path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(tmp_path), cwd=tmp_path, preexec_fn=_default_sigint)


def _wait_for(proc: subprocess.Popen, pattern: str, limit: float = 300) -> str:
    """Read the child's stderr until `pattern` shows up (a guard against hanging, not a timing assertion)."""
    buf, fd, end = b"", proc.stderr.fileno(), time.monotonic() + limit
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.5)[0]:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            if re.search(pattern, buf.decode(errors="replace")):
                return buf.decode(errors="replace")
    proc.kill()
    proc.wait()
    raise AssertionError(f"never saw {pattern!r}; stderr so far:\n{buf.decode(errors='replace')[-3000:]}")


def _finish(proc: subprocess.Popen, sig) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err.decode(errors="replace")


# -- load_or_train: a partial training is never cached -------------------------------------------------------------
def test_load_or_train_refuses_to_cache_an_interrupted_training(monkeypatch):
    import vaelab.train.cache as cache_mod
    from vaelab.train import experiment

    cfg = TrainConfig(**TINY, epochs=5)

    def stopped_by_ctrl_c(c, **kw):           # what fit returns on Ctrl-C: the epochs so far, interrupted=True
        model, history = experiment.train(TrainConfig(**TINY, epochs=1), **kw)
        history = History(history)
        history.interrupted = True
        return model, history

    monkeypatch.setattr(cache_mod, "train", stopped_by_ctrl_c)
    with pytest.raises(KeyboardInterrupt, match="nothing was cached"):
        load_or_train(cfg, device="cpu")
    assert not cache_path(cfg).exists()


@posix_only
def test_sigint_during_load_or_train_caches_nothing(tmp_path):
    cfg = TrainConfig(**TINY, epochs=100000)
    script = textwrap.dedent(f"""
        from vaelab.train import TrainConfig, load_or_train
        load_or_train(TrainConfig(**{TINY!r}, epochs=100000), device="cpu", progress=True)
        print("RETURNED")
    """)
    proc = _start(["-c", script], tmp_path)
    _wait_for(proc, PROGRESS)
    rc, err = _finish(proc, signal.SIGINT)
    assert rc != 0 and "nothing was cached" in err, err[-2000:]
    entry = cache_path(cfg, tmp_path / "cache").parent
    assert not entry.exists() or not any(entry.iterdir())


# -- the CLI: Ctrl-C and NaN save the last good weights, marked interrupted -----------------------------------------
@posix_only
def test_cli_train_sigint_saves_the_last_weights_marked_interrupted(tmp_path):
    out = tmp_path / "run"
    proc = _start(["-m", "vaelab", "train", "--dataset", "digits", "--latent-dim", "2", "--hidden", "8",
                   "--train-size", "100", "--batch-size", "100", "--epochs", "100000", "--device", "cpu",
                   "--out", str(out)], tmp_path)
    _wait_for(proc, PROGRESS)
    rc, err = _finish(proc, signal.SIGINT)
    assert rc == 130, err[-2000:]
    model, payload = load_checkpoint(out / "checkpoint.pt")
    assert payload["interrupted"] is True and 1 <= len(payload["history"]) < 100000
    history = json.loads((out / "history.json").read_text())
    assert history["interrupted"] is True and len(history["epochs"]) == len(payload["history"])
    assert str(out / "checkpoint.pt") in err and "interrupted" in err
    assert "Traceback" not in err


@posix_only
def test_cli_train_non_finite_loss_saves_the_last_good_weights(tmp_path):
    from helpers import vaelab_cli

    out = tmp_path / "run"
    r = vaelab_cli("train", "--dataset", "digits", "--latent-dim", "2", "--hidden", "8", "--train-size", "100",
                   "--batch-size", "50", "--epochs", "20", "--lr", "1e30", "--device", "cpu", "--no-progress",
                   "--out", str(out))
    assert r.returncode not in (0, 130), r.stderr
    assert "Traceback" not in r.stderr and str(out / "checkpoint.pt") in r.stderr
    model, payload = load_checkpoint(out / "checkpoint.pt")
    assert payload["interrupted"] is True and "loss" in payload["stop_reason"]
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())       # the last good weights
    assert json.loads((out / "history.json").read_text())["interrupted"] is True


# -- SIGKILL in the middle of writing the cache entry --------------------------------------------------------------
@posix_only
def test_sigkill_mid_save_leaves_nothing_that_is_served(tmp_path, monkeypatch):
    cfg = TrainConfig(**TINY, epochs=1)
    script = textwrap.dedent(f"""
        import sys, time, torch
        def half_then_hang(obj, f):
            f.write(b"PK half a checkpoint")
            f.flush()
            print("SAVING", file=sys.stderr, flush=True)
            time.sleep(600)
        torch.save = half_then_hang
        from vaelab.train import TrainConfig, load_or_train
        load_or_train(TrainConfig(**{TINY!r}, epochs=1), device="cpu", progress=False)
    """)
    proc = _start(["-c", script], tmp_path)
    _wait_for(proc, "SAVING")
    rc, _ = _finish(proc, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    path = cache_path(cfg, tmp_path / "cache")
    strays = list(path.parent.glob(".*.tmp"))
    assert not path.exists() and len(strays) == 1            # what a killed writer leaves: a temp file only

    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    model, history = load_or_train(cfg, device="cpu")       # trains afresh and sweeps the dead writer's file
    assert len(history) == 1 and load_checkpoint(path)[1]["interrupted"] is False
    assert not strays[0].exists() and not list(path.parent.glob(".*.tmp"))


# -- zoo build: an interrupted entry is not built ------------------------------------------------------------------
def test_zoo_build_reports_an_interrupted_entry_as_not_built(tmp_path, monkeypatch, capsys):
    import vaelab.train.cache as cache_mod
    from vaelab import zoo
    from vaelab.train import experiment
    from vaelab.zoo import store

    monkeypatch.setattr(store, "SHIPPED_DIR", tmp_path / "none")        # nothing shipped: it must train

    def stopped_by_ctrl_c(cfg, **kw):
        model, history = experiment.train(TrainConfig(**{**cfg.to_dict(), "epochs": 1}), **kw)
        history = History(history)
        history.interrupted = True
        return model, history

    monkeypatch.setattr(cache_mod, "train", stopped_by_ctrl_c)
    rc = main(["zoo", "build", "remedy-mlp/none", "--quick", "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 130 and re.search(r"remedy-mlp/none\s+interrupted: not built", err), err
    assert not re.search(r"remedy-mlp/none\s+built", err)
    assert not cache_path(zoo.config("remedy-mlp/none", quick=True)).exists()
    entries = store.read_manifest(zoo.manifest_path())["entries"]
    assert "quick:remedy-mlp/none" not in entries
