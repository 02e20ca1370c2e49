import json
import os
import subprocess
import sys

import pytest


def run(*args, cwd=None):
    env = {**os.environ, "VAELAB_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "vaelab", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_train_then_eval_json(tmp_path):
    out = tmp_path / "run"
    r = run("train", "--dataset", "digits", "--latent-dim", "3", "--epochs", "2", "--hidden", "32",
            "--train-size", "300", "--seed", "1", "--device", "cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr
    history = json.loads((out / "history.json").read_text())
    assert len(history["epochs"]) == 2 and history["config"]["latent_dim"] == 3
    r = run("eval", str(out), "--iw-samples", "20", "--json", "--points", "100")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert {"elbo", "iw_nll", "rec", "kl", "mi", "active_units", "n", "mmd_prior"} <= set(report)
    assert {"elbo_se", "iw_nll_se", "rec_se", "kl_se", "mi_se", "mi_ceiling"} <= set(report)
    # grey digits get the continuous Bernoulli: a normalised density on [0, 1]^64, so -log p(x) may be negative
    assert report["n"] == 100 and report["likelihood"] == "cbernoulli" and report["iw_nll_se"] > 0
    assert report["elbo"] == pytest.approx(-(report["rec"] + report["kl"]), rel=1e-5)
    assert -report["elbo"] >= report["iw_nll"] - 0.5   # IW bound is at least as tight as the ELBO (MC slack)


def test_check_reports_offline_datasets():
    r = run("check", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["datasets"]["digits"] == "built-in" and "torch" in report["versions"]


@pytest.mark.parametrize("args, message", [
    (["train", "--dataset", "cifar", "--out", "x"], "invalid choice: 'cifar'"),
    (["train", "--epochs", "-1", "--out", "x"], "epochs must be an integer >= 1, got -1"),
    (["eval", "/nonexistent/run"], "no checkpoint at"),
])
def test_bad_input_gives_a_clear_message_and_nonzero_exit(tmp_path, args, message):
    r = run(*args, cwd=tmp_path)
    assert r.returncode != 0 and message in r.stderr
