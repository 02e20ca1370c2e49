"""Notebook wall times in quick mode: each notebooks/NN_*.ipynb executed headless with nbclient, as
tests/test_notebooks.py runs them (a kernel on this very Python, VAELAB_QUICK=1, a fresh empty VAELAB_CACHE per
notebook, kernel start included), against the issue's target of 120 s each on a 2-core CPU.

    python benchmarks/bench_notebooks.py [--notebooks notebooks/02_*.ipynb ...] [--target 120] [--json out.json]

A notebook that fails is reported (ok: false, with the error) and the others still run. The notebooks pick their
own device (cuda when there is one) and thread count (their TORCH_THREADS parameter).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import tempfile
import time
from pathlib import Path

import nbformat

from _common import add_common_args, emit, record

ROOT = Path(__file__).resolve().parents[1]


def _runner():
    """tests/test_notebooks.py's `run(nb, cwd)`: one way to execute a notebook for the tests and for this."""
    spec = importlib.util.spec_from_file_location("_vaelab_test_notebooks", ROOT / "tests" / "test_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.run


def time_notebook(path: Path, run) -> dict:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="vaelab-bench-cache-") as cache:
        env = {"VAELAB_QUICK": "1", "VAELAB_CACHE": cache, "VAELAB_PROGRESS": "0",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)                                 # the kernel inherits this process's environment
        t0 = time.perf_counter()
        error = None
        try:
            run(nb, path.parent)
        except Exception as err:                               # reported in the record, the others still run
            plain = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(err).__name__}: {err}").strip()
            error = plain.splitlines()[-1][-300:]               # the exception line of the failing cell
        seconds = time.perf_counter() - t0
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"notebook": path.stem, "seconds": seconds, "ok": error is None, "error": error}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notebooks", nargs="+", default=None, help="default: every notebooks/NN_*.ipynb")
    p.add_argument("--target", type=float, default=120.0, help="seconds per notebook (the issue's CPU target)")
    add_common_args(p, device="cpu")
    args = p.parse_args(argv)
    paths = [Path(x) for x in args.notebooks] if args.notebooks else sorted((ROOT / "notebooks").glob(
        "[0-9][0-9]_*.ipynb"))
    run = _runner()
    rows = []
    for path in paths:
        row = time_notebook(path.resolve(), run)
        row.update(target_s=args.target, within_target=row["ok"] and row["seconds"] <= args.target)
        rows.append(row)
    total = sum(r["seconds"] for r in rows)
    rec = record("notebooks_quick", "Notebooks in quick mode: headless wall time per notebook (nbclient)",
                 f"target {args.target:g} s per notebook", args.device, {**vars(args), "notebooks": [p.name for p in paths]},
                 ["notebook", "seconds", "target_s", "within_target", "ok"], rows,
                 [f"total {total:.1f} s for {len(rows)} notebooks; VAELAB_QUICK=1, fresh empty VAELAB_CACHE each, "
                  f"kernel start included; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"]
                 + [f"{r['notebook']} failed: {r['error']}" for r in rows if not r["ok"]])
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
