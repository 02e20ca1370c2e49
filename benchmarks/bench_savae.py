"""SA-VAE cost: time and peak memory of one training step relative to a VAE step, for K = 5, 10, 20 and the
exact and finite-difference (fd) backward backends.

    python benchmarks/bench_savae.py [--steps 5 10 20] [--device cpu|cuda] [--batch 64] [--hidden 64]
        [--repeats 10] [--out savae_cost.json]

Model: the LSTM encoder/decoder (latent 8) on synthetic_text sentences. How time and memory are measured
(on CPU: a fresh process per configuration, growth of the peak RSS) is in vaelab.train.cost.
Prints a markdown table and writes JSON with --out.
"""
from __future__ import annotations

import argparse
import json
import platform

import torch

from vaelab.train.cost import step_costs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    configs = [("elbo", 0, "exact")] + [("savae", k, h) for k in args.steps for h in ("exact", "fd")]
    rows = step_costs(configs, batch=args.batch, hidden=args.hidden, repeats=args.repeats, device=args.device,
                      threads=args.threads)
    print("| objective | K | hvp | ms/step | × VAE time | peak MB | × VAE memory |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['objective']} | {r['K']} | {r['hvp'] if r['K'] else ''} | {1000 * r['seconds']:.1f} | "
              f"{r['time_x_vae']:.1f} | {r['peak_kb'] / 1024:.1f} | {r['memory_x_vae']:.1f} |")
    machine = f"{platform.machine()} {platform.processor() or ''} torch {torch.__version__} on {args.device}"
    print(f"\n{machine}; batch {args.batch}, LSTM hidden {args.hidden}, {args.threads} thread(s)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rows": rows, "machine": machine, "args": vars(args)}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
