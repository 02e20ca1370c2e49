"""SA-VAE and SRI cost: time and peak memory of one training step relative to a VAE step, for K = 5, 10, 20: the
SA-VAE with its exact and finite-difference (fd) backward backends, and short-run inference ('sri', K Langevin
steps and no encoder; notebook 07).

    python benchmarks/bench_savae.py [--steps 5 10 20] [--device cpu|cuda] [--batch 64] [--hidden 64]
        [--repeats 10] [--json savae_cost.json]

Model: the LSTM encoder/decoder (latent 8) on synthetic_text sentences. How time and memory are measured
(on CPU: a fresh process per configuration, growth of the peak RSS) is in vaelab.train.cost.
Prints a markdown table on stderr and the JSON record (benchmarks/_common.py) on stdout; --json also writes it.
"""
from __future__ import annotations

import argparse
import sys

import torch

from vaelab.train.cost import step_costs

from _common import add_common_args, emit, record


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--repeats", type=int, default=10)
    add_common_args(p, device="cpu")
    p.add_argument("--out", dest="json", help="same as --json (older spelling)")
    args = p.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(args.threads)
    configs = [("elbo", 0, "exact")] + [("savae", k, h) for k in args.steps for h in ("exact", "fd")] + \
        [("sri", k, "exact") for k in args.steps]
    rows = step_costs(configs, batch=args.batch, hidden=args.hidden, repeats=args.repeats, device=args.device,
                      threads=args.threads)
    print("| objective | K | hvp | ms/step | × VAE time | peak MB | × VAE memory |\n|---|---|---|---|---|---|---|",
          file=sys.stderr)
    for r in rows:
        r.update(ms_per_step=1000 * r["seconds"], peak_mb=r["peak_kb"] / 1024)
        if not r["K"] or r["objective"] == "sri":
            r["hvp"] = ""
        print(f"| {r['objective']} | {r['K']} | {r['hvp']} | {r['ms_per_step']:.1f} | "
              f"{r['time_x_vae']:.1f} | {r['peak_mb']:.1f} | {r['memory_x_vae']:.1f} |", file=sys.stderr)
    rec = record("savae_cost", "SA-VAE cost, and SRI's: one training step relative to a VAE step (LSTM VAE, synthetic_text)",
                 "VAE step (objective elbo)", args.device, vars(args),
                 ["objective", "K", "hvp", "ms_per_step", "time_x_vae", "peak_mb", "memory_x_vae"], rows,
                 [f"batch {args.batch}, LSTM hidden {args.hidden}, latent 8; median of {args.repeats} steps after 2 "
                  "warm-up steps, each configuration in a fresh process (vaelab.train.cost)",
                  "peak memory: CUDA max_memory_allocated; CPU growth of the peak RSS (coarse; read the ratios)",
                  "GPU target: an SA-VAE step with K = 20 <= 30x a VAE step"])
    emit(rec, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
