"""AIS throughput: vaelab.inference.ais_log_px with the fused, autograd-free log p(x|z) and gradient
(vaelab.models.fused_grad) against the same estimator through autograd, same model, same images, same draws.

    VAELAB_DATA_DIR=... python benchmarks/bench_ais.py [--n 100] [--chains 16] [--steps 200] [--leapfrog 10]
        [--pairs 3] [--hidden 200 200] [--latent-dim 16] [--device cpu|cuda] [--threads 1] [--json out.json]

Baseline ("autograd"): ais_log_px with log p(x|z) and its gradient in z through autograd on
model.decode(z).log_prob(x) (the path before issue #20's AIS item). Both runs use the same generator seed, so they
draw the same numbers and compute the same estimator; the record gives their max |difference| (float rounding:
in float32 a different rounding of the gradient can flip an HMC accept that sits at its threshold).
The two paths alternate in pairs, so drift in machine load hits both alike. Figure of merit: `speedup` =
autograd seconds / fused seconds per pair (min/median/max; wall and this process's CPU seconds).

GFLOP/s count the decoder's matmuls: forward, and backward to z (each Linear's input gradient, no weight
gradients: as many FLOPs as the forward), for every code at each of the 1 + steps * leapfrog gradient calls per
batch; read against the best fp32 matmul of the same run (_flops.matmul_peak), timed the same way.
Model: the MLP VAE 784-200-200-16 (Bernoulli) trained by load_or_train (cached) on a training subset.

Measured 2026-12-02 (AMD EPYC, 2 cores shared with other sessions, 1 thread, the defaults above): fused / autograd
1.18 / 1.24 / 1.31 and 1.25 / 1.30 / 1.32 (wall, min/median/max over 3 pairs, two runs), 65-71 % of the same-run
matmul peak against 49-55 % (benchmarks/RESULTS.md, issue-20 section).
"""
from __future__ import annotations

import argparse
import contextlib
import statistics

import torch

import vaelab
import vaelab.inference.ais as ais
from vaelab.data import load_dataset, subset
from vaelab.inference import ais_log_px

from _common import add_common_args, apply_threads, emit, record, timed_cpu, without_fused_path
from _flops import linear_shapes, matmul_peak, mlp_flops, spread


def through_autograd():
    """ais_log_px as before: log p(x|z) and its gradient through autograd (same draws, same batches)."""
    return without_fused_path(ais, "fused_log_lik_and_grad")


def main(argv=None) -> dict:
    from bench_fit_vs_dataloader import default_dataset
    from bench_iwnll import trained_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="default: binarized_mnist if prepared, else digits")
    p.add_argument("--n", type=int, default=100, help="test images (a seeded subset)")
    p.add_argument("--chains", type=int, default=16)
    p.add_argument("--steps", type=int, default=200, help="annealing steps (intermediate distributions)")
    p.add_argument("--leapfrog", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100, help="ais_log_px's examples per batch")
    p.add_argument("--pairs", type=int, default=3, help="alternating pairs of fused and autograd runs")
    p.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--train-epochs", type=int, default=2)
    p.add_argument("--train-size", type=int, default=10000, help="train the model on a seeded subset")
    p.add_argument("--seed", type=int, default=0)
    add_common_args(p)
    args = p.parse_args(argv)
    threads = apply_threads(args.threads)
    device = vaelab.pick_device(args.device)
    name = args.dataset or default_dataset()
    model = trained_model(name, args.train_epochs, args.train_size, device, args.hidden, args.latent_dim)
    x = subset(load_dataset(name, "test", binarize="static" if name == "digits" else None), args.n, seed=0).x.to(device)
    kw = dict(n_chains=args.chains, n_steps=args.steps, leapfrog=args.leapfrog, batch_size=args.batch_size,
              seed=args.seed)
    warm = dict(kw, n_steps=2)
    ais_log_px(model, x[:args.batch_size], **warm)                                          # warm-up
    with through_autograd():
        ais_log_px(model, x[:args.batch_size], **warm)
    secs, cpu, out, peaks = {"fused": [], "autograd": []}, {"fused": [], "autograd": []}, {}, []
    shapes = linear_shapes(model.decoder)
    for rep in range(args.pairs):
        peaks.append(matmul_peak(device, shapes))
        for which in (("fused", "autograd") if rep % 2 == 0 else ("autograd", "fused")):
            with through_autograd() if which == "autograd" else contextlib.nullcontext():
                lp, s, c = timed_cpu(ais_log_px, device, model, x, **kw)
            secs[which].append(s)
            cpu[which].append(c if device.type == "cpu" else s)
            out[which] = lp.float()
    peaks.append(matmul_peak(device, shapes))
    n = x.shape[0]
    flops = n * args.chains * (1 + args.steps * args.leapfrog) * 2 * mlp_flops(model.decoder)
    peak = statistics.median(q["peak"] for q in peaks)
    gf = {k: flops / statistics.median(v) / 1e9 for k, v in cpu.items()}
    ratios = [a / f for f, a in zip(secs["fused"], secs["autograd"])]
    cpu_ratios = [a / f for f, a in zip(cpu["fused"], cpu["autograd"])]
    diff = out["fused"] - out["autograd"]
    row = {"n": n, "chains": args.chains, "steps": args.steps, "leapfrog": args.leapfrog,
           "fused_s": statistics.median(secs["fused"]), "autograd_s": statistics.median(secs["autograd"]),
           "speedup": statistics.median(ratios), "speedup_spread": spread(ratios),
           "speedup_cpu": statistics.median(cpu_ratios), "speedup_cpu_spread": spread(cpu_ratios),
           "fused_gflops": gf["fused"], "autograd_gflops": gf["autograd"], "peak_gflops": peak,
           "fused_pct_of_peak": 100 * gf["fused"] / peak, "autograd_pct_of_peak": 100 * gf["autograd"] / peak,
           "nll": float(-out["fused"].mean()), "max_abs_diff": float(diff.abs().max()),
           "mean_abs_diff": float(diff.abs().mean()), "seconds_each_run": secs, "cpu_seconds_each_run": cpu,
           "matmul_peaks": peaks}
    arch = "-".join(str(h) for h in [x[0].numel(), *args.hidden, args.latent_dim])
    notes = [f"model: MLP VAE {arch} (Bernoulli), load_or_train {args.train_epochs} epochs on {name}"
             + (f" ({args.train_size} training examples)" if args.train_size else "") + f"; {threads} CPU thread(s)",
             f"ais_log_px: {args.chains} chains, {args.steps} steps, {args.leapfrog} leapfrog, "
             f"batch {args.batch_size}, "
             f"seed {args.seed}; after a warm-up run of each path (2 steps)",
             "speedup = autograd seconds / fused seconds per alternating pair, median (min/median/max in "
             "speedup_spread; speedup_cpu: the same with this process's CPU seconds)",
             f"gflops: decoder matmul FLOPs ({2 * mlp_flops(model.decoder) / 1e6:.3g} MFLOP per code and gradient "
             "call: "
             "forward plus backward to z) over the median CPU seconds of this process (wall on a GPU); peak_gflops: "
             "the best fp32 matmul of this run (2048^2 or the decoder's layer shapes at 1000 rows), before each pair "
             "and after the last, median",
             "max_abs_diff: max |fused - autograd| log p(x) over the images, nats (same draws: float rounding; in "
             "float32 an HMC accept at its threshold can flip and move one chain)"]
    rec = record("ais_throughput", f"AIS throughput: ais_log_px fused vs through autograd ({name} test images)",
                 "ais_log_px through autograd (model.decode(z).log_prob(x), torch.autograd.grad)", device,
                 {**vars(args), "dataset": name}, ["n", "chains", "steps", "leapfrog", "fused_s", "autograd_s",
                                                   "speedup", "speedup_cpu", "fused_gflops", "autograd_gflops",
                                                   "peak_gflops", "fused_pct_of_peak", "nll", "max_abs_diff"],
                 [row], notes)
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
