"""Benchmarks are not tests (no timings are asserted); this only checks that each runs at a tiny size and
prints well-formed JSON with the fields its report promises."""
import json
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def run(script, *args):
    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_fit_benchmark_smoke():
    report = json.loads(run("bench_fit_vs_dataloader.py", "--dataset", "digits", "--epochs", "1", "--repeats", "1",
                            "--threads", "1", "--device", "cpu"))
    assert report["dataset"] == "digits" and report["device"] == "cpu"
    assert set(report["seconds_per_epoch"]) == {"vaelab_fit", "textbook_dataloader"}
    assert all(v > 0 for v in report["seconds_per_epoch"].values()) and report["speedup"] > 0


def test_gap_benchmark_smoke():
    out = run("bench_gaps.py", "--dataset", "digits", "--points", "20", "--iw-samples", "20", "--steps", "5",
              "--epochs", "1", "--device", "cpu")
    report = json.loads(out[out.index("{"):])
    assert "amortization_gap" in json.dumps(report)
