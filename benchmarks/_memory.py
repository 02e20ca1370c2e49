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

CHILD = r"""
import json, sys, torch
from vaelab.metrics import iw_log_px
from vaelab.models import model_from_config
from vaelab.train.cost import _peak_kb, _reset_peak
torch.set_num_threads(1)
saved = torch.load(sys.argv[1], weights_only=False)
model = model_from_config(saved["config"])
model.load_state_dict(saved["state"])
model.eval()
x, k, batch_size, chunk = saved["x"], *map(int, sys.argv[2:5])
iw_log_px(model, x[:8], 4, batch_size=batch_size)
base = _reset_peak()
iw_log_px(model, x, k, batch_size=batch_size, chunk=chunk or None)
print(json.dumps({"peak_growth_mb": (_peak_kb() - base) / 1024}))
"""


def fresh_peak_mb(model, x: torch.Tensor, k: int, batch_size: int, chunk: int | None = None) -> float:
    """Peak-RSS growth (MB) of iw_log_px(model, x, k, batch_size, chunk) run alone in a fresh process, 1 thread."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.pt"
        torch.save({"config": model.config, "state": {k_: v.cpu() for k_, v in model.state_dict().items()},
                    "x": x.cpu()}, path)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(k), str(batch_size), str(chunk or 0)],
                           capture_output=True, text=True, env=env, timeout=3600)
    if r.returncode:
        raise RuntimeError(f"the fresh-process memory run failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])["peak_growth_mb"]
