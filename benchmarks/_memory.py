"""Peak memory of one iw_log_px run in a fresh Python process (CPU): the allocator starts clean, so the figure
is that run's own, not what earlier runs in the benchmark left behind.

The child resets its peak-RSS mark (Linux /proc/self/clear_refs) after a warm-up and reports the growth of the
peak resident set (VmHWM) over the RSS at that moment, in MB (vaelab.train.cost's helpers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from vaelab.train.checkpoint import save_checkpoint

CHILD = r"""
import json, sys, torch
from vaelab.metrics import iw_log_px
from vaelab.train.checkpoint import load_checkpoint
from vaelab.train.cost import _peak_kb, _reset_peak
torch.set_num_threads(1)
model, _ = load_checkpoint(sys.argv[1])
model.eval()
x = torch.load(sys.argv[2], weights_only=True)
k, batch_size, chunk = map(int, sys.argv[3:6])
iw_log_px(model, x[:8], 4, batch_size=batch_size)
base = _reset_peak()
iw_log_px(model, x, k, batch_size=batch_size, chunk=chunk or None)
print(json.dumps({"peak_growth_mb": (_peak_kb() - base) / 1024}))
"""


def fresh_peak_mb(model, x: torch.Tensor, k: int, batch_size: int, chunk: int | None = None) -> float:
    """Peak-RSS growth (MB) of iw_log_px(model, x, k, batch_size, chunk) run alone in a fresh process, 1 thread."""
    with tempfile.TemporaryDirectory() as tmp:
        path, data = Path(tmp) / "model.pt", Path(tmp) / "x.pt"
        save_checkpoint(path, model)                # the package's own format, loaded with weights_only=True
        torch.save(x.cpu(), data)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(data), str(k), str(batch_size),
                            str(chunk or 0)],
                           capture_output=True, text=True, env=env, timeout=3600)
    if r.returncode:
        raise RuntimeError(f"the fresh-process memory run failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])["peak_growth_mb"]
