import json
import math
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
    from vaelab.runtime import bf16_support
    native, why = bf16_support("cpu" if "cpu" in report["device"] else report["device"].split()[0])
    assert report["bf16"].startswith("native" if native else "not native") and why in report["bf16"]


@pytest.mark.parametrize("args, message", [
    (["train", "--dataset", "cifar", "--out", "x"], "invalid choice: 'cifar'"),
    (["train", "--epochs", "-1", "--out", "x"], "epochs must be an integer >= 1, got -1"),
    (["eval", "/nonexistent/run"], "no checkpoint at"),
])
def test_bad_input_gives_a_clear_message_and_nonzero_exit(tmp_path, args, message):
    r = run(*args, cwd=tmp_path)
    assert r.returncode != 0 and message in r.stderr


@pytest.mark.filterwarnings("ignore:posterior collapse")
def test_table_remedies_cli_refuses_bad_input_and_prints_json_then_markdown(capsys, monkeypatch):
    """`vaelab table remedies`: argparse refuses an unknown profile (exit 2); --seeds 0 is one line naming seeds;
    a run prints one JSON record; a second run loads the same checkpoints and prints the same numbers as markdown.
    The rows are cut to the LM and the plain VAE (a full quick table is 6 models per seed)."""
    from vaelab.cli import main
    from vaelab.zoo import table_remedies

    with pytest.raises(SystemExit) as stop:
        main(["table", "remedies", "--profile", "nope"])
    assert stop.value.code == 2 and "invalid choice: 'nope'" in capsys.readouterr().err
    assert main(["table", "remedies", "--seeds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vaelab table:") and "seeds" in err[0] and "Traceback" not in err[0]

    every_row = table_remedies.remedy_configs
    monkeypatch.setattr(table_remedies, "remedy_configs",
                        lambda profile, seed, remedies: every_row(profile, seed, ("none",)))
    assert main(["table", "remedies", "--profile", "quick", "--seeds", "1", "--device", "cpu", "--json",
                 "--no-progress"]) == 0
    out, err = capsys.readouterr()
    record = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))   # one seed: SE null
    assert record["table"] == "remedies" and record["profile"] == "quick" and record["seeds"] == 1
    assert record["summary"]["none"]["iw_nll"][1] is None
    assert list(record["per_seed"]) == ["lm", "none"] and all(
        len(v) == 1 for row in record["per_seed"].values() for v in row.values())
    assert [ln.split()[:3] for ln in err.splitlines() if ln.startswith("seed ")] == [["seed", "0", "lm"],
                                                                                    ["seed", "0", "none"]]
    nll = record["per_seed"]["none"]["iw_nll"][0]
    assert record["summary"]["none"]["iw_nll"][0] == nll                      # one seed: the mean is the value

    from pathlib import Path

    checkpoints = {p: p.stat().st_mtime_ns for p in Path(os.environ["VAELAB_CACHE"]).rglob("*.pt")}
    assert sum(p.name == "checkpoint.pt" for p in checkpoints) == 2              # the LM and the VAE
    assert sum(p.parent.name == "results" for p in checkpoints) == 2             # and their memoised scores
    assert main(["table", "remedies", "--seeds", "1", "--device", "cpu", "--no-progress"]) == 0
    md = capsys.readouterr().out
    row = next(ln for ln in md.splitlines() if ln.startswith("| none |"))
    assert row.split("|")[2].strip() == f"{nll:.2f}"                           # the same number, from the cache:
    assert {p: p.stat().st_mtime_ns for p in checkpoints} == checkpoints      # nothing retrained or rescored


def test_eval_of_a_language_model_run_reports_its_exact_nll(tmp_path, capsys):
    """`eval` on an objective-'lm' run: the exact -log p(x | z = 0), not an importance-sampled estimate."""
    from vaelab.cli import main
    from vaelab.data import load_dataset
    from vaelab.metrics import decoder_only_nll
    from vaelab.train import load_checkpoint

    out = tmp_path / "lm"
    assert main(["train", "--dataset", "synthetic_text", "--model", "lstm", "--objective", "lm", "--epochs", "1",
                 "--train-size", "200", "--latent-dim", "4", "--hidden", "16", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--split", "test", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["exact"] is True and "iw_nll" not in got and "kl" not in got
    model, _ = load_checkpoint(out / "checkpoint.pt")
    x = load_dataset("synthetic_text", "test").x
    nll = decoder_only_nll(model, x)
    assert got["n"] == len(x) and got["nll"] == pytest.approx(float(nll.mean()), rel=1e-5)
    assert got["ppl"] == pytest.approx(math.exp(float(nll.sum()) / float((x != 0).sum())), rel=1e-5)
