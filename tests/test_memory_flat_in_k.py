"""Peak memory of iw_log_px does not grow with K: each K runs in a fresh Python process (no allocator state
inherited from other tests), and the growth of its peak resident set is compared between a small and a large K.

Before issue #20 every chunk allocated several (chunk, batch, pixels) temporaries of a few MB and kept a small
per-chunk result alive between them; the allocator could not reuse the holes, and the peak RSS grew with the
number of chunks, by an amount that varied from run to run: in three runs of this test with the old code, +97,
+103 and +161 MB at K = 1000 against +48 to +65 MB at K = 20 (fresh processes, AMD EPYC, 1 thread). The fused
path reuses its layer buffers and writes each chunk's result into one array: +9.2 MB at K = 20, +9.8 at K = 1000."""
import json
import os
import subprocess
import sys

import pytest

CHILD = r"""
import json, sys, torch
from vaelab.metrics import iw_log_px
from vaelab.models import build_model
from vaelab.train.cost import _peak_kb, _reset_peak
torch.set_num_threads(1)
torch.manual_seed(0)
model = build_model("mlp", (1, 28, 28), 16, (200, 200)).eval()
x = (torch.rand(500, 1, 28, 28) < 0.3).float()
iw_log_px(model, x[:8], 4)
base = _reset_peak()
iw_log_px(model, x, int(sys.argv[1]))
print(json.dumps({"growth_mb": (_peak_kb() - base) / 1024}))
"""

# MB: what a K-independent run may differ by between two fresh processes (page-granular RSS, allocator noise);
# far below the tens to hundreds of MB that a per-chunk leak or fragmentation adds over 200 chunks
BOUND_MB = 24


def _growth(k: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", CHILD, str(k)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])["growth_mb"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS via /proc/self (Linux)")
def test_iw_log_px_peak_memory_is_flat_in_k():
    small, large = _growth(20), _growth(1000)       # 4 and 200 chunks of 5 samples x 500 images
    assert large <= small + BOUND_MB, f"peak RSS growth {large:.1f} MB at K=1000 vs {small:.1f} MB at K=20"
    assert large < 64, f"peak RSS growth {large:.1f} MB at K=1000: more than a few chunks' worth"
