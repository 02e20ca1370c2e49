"""Benchmarks are not tests (no timings are asserted); this only checks that each runs at a tiny size and
writes a well-formed JSON record with the fields its report promises, and that run_all.py rewrites only the
generated block of RESULTS.md."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORD_KEYS = {"benchmark", "title", "baseline", "date", "machine", "device", "threads", "params", "columns", "rows",
               "notes"}
BEGIN, END = "<!-- BEGIN GENERATED", "<!-- END GENERATED -->"


def run(script, *args):
    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-3000:]
    return r.stdout


def check_record(rec, benchmark, device="cpu"):
    assert RECORD_KEYS <= set(rec), RECORD_KEYS - set(rec)
    assert rec["benchmark"] == benchmark and rec["device"] == device
    assert rec["machine"]["torch"] and rec["machine"]["cpu"] and rec["date"][:2] == "20"
    assert rec["rows"] and all(any(c in row for row in rec["rows"]) for c in rec["columns"])


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """run_all.py --profile smoke once, on a copy of RESULTS.md whose hand-written text sits around the block."""
    tmp = tmp_path_factory.mktemp("bench")
    md = tmp / "RESULTS.md"
    md.write_text("# Results\n\nhand-written before\n\n" + BEGIN + " -->\nstale table\n" + END + "\n\nhand-written after\n")
    run("run_all.py", "--profile", "smoke", "--device", "cpu", "--results-dir", str(tmp / "results"),
        "--results-md", str(md))
    return tmp


@pytest.mark.parametrize("name", ["fit_throughput", "iwnll_throughput", "savae_cost", "gap_decomposition"])
def test_each_benchmark_writes_a_well_formed_record(smoke_run, name):
    rec = json.loads((smoke_run / "results" / "cpu" / f"{name}.json").read_text())
    check_record(rec, name)
    assert rec["profile"] == "smoke" and rec["command"].startswith("python benchmarks/")


def test_fit_record_has_one_row_per_batch_size_with_samples_per_second_and_ratio(smoke_run):
    rec = json.loads((smoke_run / "results" / "cpu" / "fit_throughput.json").read_text())
    assert [r["batch_size"] for r in rec["rows"]] == [64, 256]
    for r in rec["rows"]:
        assert r["fit_samples_per_s"] > 0 and r["textbook_samples_per_s"] > 0
        assert r["speedup"] == pytest.approx(r["fit_samples_per_s"] / r["textbook_samples_per_s"], rel=1e-3)


def test_iwnll_record_reports_the_agreement_of_batched_and_per_example(smoke_run):
    rec = json.loads((smoke_run / "results" / "cpu" / "iwnll_throughput.json").read_text())
    fp32 = [r for r in rec["rows"] if r["precision"] == "fp32"]
    assert [r["K"] for r in fp32] == [20, 100]
    for r in fp32:
        assert {"batched_s", "loop_s", "speedup", "mean_nll_diff", "max_abs_diff", "agree_0.01"} <= set(r)
        assert r["same_noise"] and r["agree_0.01"] is True
    assert {r["precision"] for r in rec["rows"]} == {"fp32", "bf16"}
    assert all("nll_diff_vs_fp32" in r for r in rec["rows"] if r["precision"] == "bf16")


def test_gap_record_holds_the_gaps(smoke_run):
    rec = json.loads((smoke_run / "results" / "cpu" / "gap_decomposition.json").read_text())
    assert {"amortization_gap", "approximation_gap", "gap_s"} <= set(rec["rows"][0])


def test_run_all_rewrites_only_the_generated_block(smoke_run):
    text = (smoke_run / "RESULTS.md").read_text()
    assert text.startswith("# Results\n\nhand-written before\n\n" + BEGIN)
    assert text.endswith(END + "\n\nhand-written after\n")
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and "stale table" not in text
    block = text[text.index(BEGIN):text.index(END)]
    for title in ("Training throughput", "IW-NLL throughput", "SA-VAE cost", "Gap decomposition"):
        assert f"#### {title}" in block
    assert "torch " in block and "| batch_size |" in block


def test_run_all_appends_the_block_when_there_are_no_markers_and_then_replaces_it(smoke_run, tmp_path):
    md = tmp_path / "RESULTS.md"
    original = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    original = original[:original.find(BEGIN)] if BEGIN in original else original
    md.write_text(original)
    args = ("--render-only", "--results-dir", str(smoke_run / "results"), "--results-md", str(md))
    run("run_all.py", *args)
    once = md.read_text()
    assert once.startswith(original.rstrip("\n")) and once.count(BEGIN) == 1
    md.write_text(once + "\nlater note\n")
    run("run_all.py", *args)
    assert md.read_text() == once + "\nlater note\n"                 # same results: same block, note kept


def test_notebook_benchmark_times_each_notebook_and_reports_failures(tmp_path):
    good, bad = tmp_path / "00_good.ipynb", tmp_path / "01_bad.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nassert os.environ['VAELAB_QUICK'] == '1' and os.listdir(os.environ['VAELAB_CACHE']) == []")]),
        good)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('boom')")]), bad)
    out = tmp_path / "nb.json"
    run("bench_notebooks.py", "--notebooks", str(good), str(bad), "--json", str(out))
    rec = json.loads(out.read_text())
    check_record(rec, "notebooks_quick")
    rows = {r["notebook"]: r for r in rec["rows"]}
    assert rows["00_good"]["ok"] and rows["00_good"]["seconds"] > 0 and rows["00_good"]["target_s"] == 120
    assert not rows["01_bad"]["ok"] and "boom" in rows["01_bad"]["error"] and not rows["01_bad"]["within_target"]


def test_gpu_benchmark_runs_end_to_end_at_the_tiny_size_on_cpu(tmp_path):
    # the one command that prints the GPU figures (benchmarks/bench_gpu.py --device cuda), at a toy size on CPU
    run("bench_gpu.py", "--device", "cpu", "--tiny", "--no-compile", "--json", str(tmp_path / "gpu.json"))
    rec = json.loads((tmp_path / "gpu.json").read_text())
    check_record(rec, "gpu_figures")
    figures = [r["figure"] for r in rec["rows"]]
    assert len(figures) == 5 and figures[0].startswith("training") and "K = 50" in figures[1]
    assert figures[3].startswith("SA-VAE step, K = 2, hvp fd") and rec["rows"][3]["value"] > 1
    assert set(rec["rows"][0]["spread"]) == {"min", "median", "max"} and rec["rows"][0]["value"] > 0
    assert rec["rows"][2]["amortization_gap"] == rec["rows"][2]["amortization_gap"]      # a number, not NaN


def test_ais_benchmark_runs_at_a_tiny_size_and_reports_agreement(tmp_path):
    # not in run_all's profiles: run directly, like bench_gpu above
    run("bench_ais.py", "--dataset", "digits", "--n", "6", "--chains", "2", "--steps", "3", "--leapfrog", "2",
        "--batch-size", "4", "--pairs", "1", "--hidden", "16", "--latent-dim", "2", "--train-epochs", "1",
        "--train-size", "200", "--device", "cpu", "--json", str(tmp_path / "ais.json"))
    rec = json.loads((tmp_path / "ais.json").read_text())
    check_record(rec, "ais_throughput")
    row = rec["rows"][0]
    assert len(row["seconds_each_run"]["fused"]) == len(row["seconds_each_run"]["autograd"]) == 1
    assert row["speedup"] == pytest.approx(row["seconds_each_run"]["autograd"][0] / row["seconds_each_run"]["fused"][0],
                                           rel=1e-3)
    assert set(row["speedup_spread"]) == {"min", "median", "max"} and row["peak_gflops"] > 0
    assert row["max_abs_diff"] < 1e-2                  # same draws on both paths: float rounding only
