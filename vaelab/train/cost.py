"""The cost of one training step of an objective: time and peak memory, relative to the VAE (notebooks 05 and 07,
benchmarks/bench_savae.py). K is the number of SVI steps of an SA-VAE mode, or of Langevin steps for 'sri'.

One step = the objective's forward, loss.backward() and an Adam update, on an LSTM VAE and a batch of
synthetic_text sentences. Time: the median over `repeats` steps after 2 warm-up steps.
Peak memory:
- cuda: torch.cuda.max_memory_allocated during the steps, minus what was allocated before them;
- cpu: each configuration runs in a fresh Python process (`python -m vaelab.train.cost`), which resets its
  peak-RSS mark just before the first step (Linux /proc/self/clear_refs) and reports the growth of the peak
  resident set size (VmHWM) over the RSS at that moment. That counts what
  the allocator took from the OS (including freed blocks it keeps), not only live tensors: coarse (about a
  MB) and an upper bound. Read the ratios, not the megabytes.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

import torch


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux: /proc/self/clear_refs) and return the RSS in KB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    rss = _status_kb("VmRSS")
    return rss if rss is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kb() -> int:
    """Peak RSS of this process image (VmHWM: unlike ru_maxrss it is not inherited from a large parent)."""
    hwm = _status_kb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_step(objective: str, svi_steps: int = 0, hvp: str = "exact", *, batch: int = 64, hidden: int = 64,
                 repeats: int = 10, device: str = "cpu", threads: int = 1, seed: int = 0) -> dict:
    """Time (seconds, median) and peak memory growth (KB) of one training step, measured in this process."""
    from ..data import load_dataset
    from ..models import build_model
    from .objectives import build_objective, objective_params

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    dev = torch.device(device)
    ds = load_dataset("synthetic_text", "train")
    x = ds.x[:batch].to(dev)
    model = build_model("lstm", ds.meta["shape"], 8, [hidden], vocab_size=ds.meta["vocab_size"]).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    own = objective_params(objective)
    if "svi_steps" in own:                           # K: SVI steps of the SA-VAE modes
        loss_fn = build_objective(objective, svi_steps=svi_steps, svi_lr=1.0, svi_momentum=0.5, svi_clip=5.0, hvp=hvp)
    elif "langevin_steps" in own:                    # K: short-run Langevin steps of 'sri' (Pang et al. 2021)
        loss_fn = build_objective(objective, langevin_steps=svi_steps)
    else:
        loss_fn = build_objective(objective)

    def step():
        loss, _ = loss_fn(model, x, kl_weight=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() // 1024
    else:
        base = _reset_peak()
    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated() // 1024 if dev.type == "cuda"
            else _peak_kb()) - base
    return {"objective": objective, "K": svi_steps, "hvp": hvp, "seconds": statistics.median(times), "peak_kb": peak}


def step_costs(configs, *, batch: int = 64, hidden: int = 64, repeats: int = 10, device: str = "cpu",
               threads: int = 1) -> list[dict]:
    """configs: [(objective, K, hvp)], the first being the baseline (the VAE: ('elbo', 0, 'exact')). Each is
    measured in a fresh process; adds time_x_vae and memory_x_vae (ratios to the first row)."""
    rows = []
    for obj, k, h in configs:
        cmd = [sys.executable, "-m", "vaelab.train.cost", obj, str(k), h, str(batch), str(hidden), str(repeats),
               device, str(threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"measuring {obj} (K={k}, hvp={h}) failed:\n{out.stderr[-2000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in rows:
        r["time_x_vae"] = r["seconds"] / rows[0]["seconds"]
        r["memory_x_vae"] = r["peak_kb"] / max(rows[0]["peak_kb"], 1)
    return rows


if __name__ == "__main__":
    o, k, h, b, hid, rep, dev, thr = sys.argv[1:9]
    print(json.dumps(measure_step(o, int(k), h, batch=int(b), hidden=int(hid), repeats=int(rep), device=dev,
                                  threads=int(thr))))
