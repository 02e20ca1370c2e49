"""What every benchmark shares: the machine description, timing that waits for the GPU, peak memory, and the
one JSON record each script writes (read back by run_all.py to rebuild RESULTS.md).

A record is a dict with these keys (check_record lists them):
    benchmark   short name, e.g. "fit_throughput" (also the JSON file's name under results/<device>/)
    title       one line for the RESULTS.md heading
    baseline    the named baseline the ratios are measured against, in the same run
    date        UTC, ISO 8601
    machine     cpu model and count, gpu name, torch / CUDA / Python versions, platform
    device, threads, params (the script's arguments)
    columns     the keys of each row to show, in order;  rows: one dict per measured configuration
    notes       free lines (agreement checks, what a figure counts)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

RECORD_KEYS = ("benchmark", "title", "baseline", "date", "machine", "device", "threads", "params", "columns",
               "rows", "notes")


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else what platform reports."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: torch.device | str) -> dict:
    dev = torch.device(device)
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else None
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpu": gpu, "torch": torch.__version__,
            "cuda": torch.version.cuda if dev.type == "cuda" else None, "python": platform.python_version(),
            "platform": platform.platform(terse=True)}


def sync(device: torch.device | str) -> None:
    """Wait for queued GPU work, so that a wall-clock interval covers the kernels it launched."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, *args, **kwargs):
    """(fn's result, wall seconds), synchronising the GPU before and after."""
    sync(device)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    sync(device)
    return out, time.perf_counter() - t0


def timed_cpu(fn, device, *args, **kwargs):
    """(fn's result, wall seconds, CPU seconds of this process). On a CPU shared with other jobs the wall clock
    counts the time the scheduler gave them; the process's CPU time counts only this run's own (for a run on one
    thread, what its FLOP rate should be divided by). On a GPU the CPU seconds mean little: read the wall."""
    sync(device)
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    sync(device)
    return out, time.perf_counter() - w0, time.process_time() - c0


class PeakMemory:
    """`with PeakMemory(device) as m: ...` then m.mb: peak memory growth during the block, in MB.

    cuda: torch.cuda.max_memory_allocated over what was allocated at entry (live tensors only).
    cpu: growth of the process's peak RSS over the RSS at entry (vaelab.train.cost's Linux helpers): what the
    allocator took from the OS, coarse and an upper bound; compare within one run only.
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.mb = None

    def __enter__(self):
        from vaelab.train.cost import _reset_peak
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            self.base = _reset_peak() / 1024
        return self

    def __exit__(self, *exc):
        from vaelab.train.cost import _peak_kb
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            peak = _peak_kb() / 1024
        self.mb = round(max(peak - self.base, 0.0), 1)
        return False


def add_common_args(p: argparse.ArgumentParser, device: str = "auto", threads: int | None = 1) -> None:
    """--device, --threads and --json, the same in every benchmark."""
    p.add_argument("--device", default=device, help="auto (cuda, then mps, then cpu), cpu, cuda, ...")
    p.add_argument("--threads", type=int, default=threads,
                   help="torch CPU threads (1 avoids OpenMP contention on a shared machine; 0: torch's choice)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the JSON record to this file")


def apply_threads(threads: int | None) -> int:
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def record(benchmark: str, title: str, baseline: str, device, params: dict, columns, rows, notes=()) -> dict:
    missing = [c for c in columns if not any(c in r for r in rows)]
    if rows and missing:
        raise ValueError(f"columns {missing} appear in no row of benchmark {benchmark!r}")
    return {"benchmark": benchmark, "title": title, "baseline": baseline,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(device),
            "device": str(device), "threads": torch.get_num_threads(), "params": params, "columns": list(columns),
            "rows": rows, "notes": list(notes)}


def check_record(rec: dict) -> None:
    """ValueError naming what is missing when `rec` is not a well-formed benchmark record."""
    missing = [k for k in RECORD_KEYS if k not in rec]
    if missing:
        raise ValueError(f"benchmark record lacks keys {missing}; a record has {list(RECORD_KEYS)}")
    bad = [c for c in rec["columns"] if rec["rows"] and not any(c in r for r in rec["rows"])]
    if bad:
        raise ValueError(f"benchmark record {rec['benchmark']!r}: columns {bad} appear in no row")


def _plain(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def emit(rec: dict, path: str | os.PathLike | None = None) -> dict:
    """Print the record as JSON on stdout (the last thing printed) and write it to `path` when given."""
    check_record(rec)
    rec = _plain(rec)
    text = json.dumps(rec, indent=2, default=str)
    if path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(path)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return rec


@contextlib.contextmanager
def without_fused_path(module, name: str):
    """Within the block, module.<name> (a fused-path factory such as fused_log_lik) returns None, so the code that
    calls it takes its unfused path: the baseline "as before the fused path", same draws, same batches."""
    keep = getattr(module, name)
    setattr(module, name, lambda *a: None)
    try:
        yield
    finally:
        setattr(module, name, keep)
