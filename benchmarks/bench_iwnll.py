"""IW-NLL throughput: vaelab.metrics.iw_log_px (batched over examples, chunked over samples) against a loop over
one example at a time (the textbook estimator: for each x, K samples from q(z|x), logsumexp), same model, same
test images, K = 1000 and 5000 by default.

    python benchmarks/bench_iwnll.py [--n 10000] [--k 1000 5000] [--batch-size 500] [--train-epochs 20]
        [--precision fp32 tf32 bf16] [--device cpu|cuda] [--threads 1] [--json out.json]

Same noise, so the comparison is exact: the per-example loop is fed the very standard-normal draws that
iw_log_px makes (its documented draw order: a private generator on the data's device seeded with seed, then
one (chunk, batch, d) draw per chunk), replayed into a (K, n, d) tape before the loop is timed. The two are then the
same estimator on the same samples and must agree to float precision; the record says by how much they do
(the check: |mean NLL difference| <= 0.01 nats). Drawing the tape is not timed, which favours the baseline.
Above --tape-max-gb the loop draws its own noise instead and agreement is only statistical (noted).

--precision adds batched runs under TF32 matmuls (torch.set_float32_matmul_precision('high'); a no-op on most
CPUs) or bf16 autocast, with their mean NLL difference from the fp32 run (the issue's target: 0.05 nats).
Under bf16 the noise is drawn in bf16, so that difference also holds Monte Carlo noise.

Model: the MLP VAE 784-512-512-32 (64-512-512-32 on digits) trained by load_or_train (cached) for --train-epochs on the same dataset.
On CPU use --n for a subset (the GPU target is K = 5000 over the 10k test images in <= 5 s).
"""
from __future__ import annotations

import argparse
import contextlib
import math
import statistics

import torch

import vaelab
from vaelab.data import load_dataset, subset
from vaelab.metrics import iw_log_px
import vaelab.metrics.likelihood as likelihood
from vaelab.metrics.likelihood import samples_per_chunk
from vaelab.runtime import PRECISIONS
from vaelab.models.distributions import standard_normal_log_prob

from _common import (PeakMemory, add_common_args, apply_threads, emit, record, timed, timed_cpu,
                     without_fused_path)
from _flops import linear_shapes, matmul_peak, mlp_flops, spread
from _memory import fresh_peak_mb


def noise_tape(n: int, k: int, d: int, batch_size: int, chunk: int, seed: int, device, dtype=torch.float32):
    """(K, n, d): the standard-normal draws iw_log_px(x, k, batch_size, chunk, seed=seed) makes."""
    gen = torch.Generator(device=device).manual_seed(seed)
    batches = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        batches.append(torch.cat([torch.randn((min(chunk, k - done), b, d), device=device, dtype=dtype, generator=gen)
                                  for done in range(0, k, chunk)]))
    return torch.cat(batches, 1)


@torch.inference_mode()
def per_example_log_px(model, x: torch.Tensor, k: int, eps: torch.Tensor | None = None) -> torch.Tensor:
    """The brute-force reference, one example at a time: log (1/K) sum_k p(x, z_k) / q(z_k|x), (N,) nats.

    eps: (K, N, d) standard-normal draws to use (z_k = mu + sigma * eps[:, i]); None draws fresh ones."""
    out = []
    for i in range(x.shape[0]):
        xi = x[i:i + 1]
        q = model.encode(xi)
        z = q.rsample(k) if eps is None else q.mu + q.std * eps[:, i:i + 1]          # (K, 1, d)
        log_w = model.decode(z).log_prob(xi) + standard_normal_log_prob(z) - q.log_prob(z)
        out.append(torch.logsumexp(log_w, 0) - math.log(k))
    return torch.cat(out)


def unfused():
    """iw_log_px as before issue #20: log p(x|z) as model.decode(z).log_prob(x) (same draws, same chunks)."""
    return without_fused_path(likelihood, "fused_log_lik")


def trained_model(name: str, epochs: int, train_size: int | None, device, hidden=(512, 512), latent_dim=32):
    cfg = vaelab.TrainConfig(dataset=name, model="mlp", hidden=list(hidden), latent_dim=latent_dim, epochs=epochs,
                             binarize="static" if name == "digits" else None, train_size=train_size)
    model, _ = vaelab.load_or_train(cfg, device=device, progress=False)
    return model.eval()


def main(argv=None) -> dict:
    from bench_fit_vs_dataloader import default_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="default: binarized_mnist if prepared, else digits")
    p.add_argument("--n", type=int, default=None, help="test images (a seeded subset; default: all)")
    p.add_argument("--k", type=int, nargs="+", default=[1000, 5000])
    p.add_argument("--batch-size", type=int, default=500, help="iw_log_px's examples per batch")
    p.add_argument("--chunk", type=int, default=None, help="iw_log_px's samples per chunk (default: its own rule)")
    p.add_argument("--train-epochs", type=int, default=20)
    p.add_argument("--train-size", type=int, default=None, help="train the model on a seeded subset")
    p.add_argument("--precision", nargs="+", default=["fp32"], choices=PRECISIONS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tape-max-gb", type=float, default=16.0)
    p.add_argument("--no-loop", action="store_true", help="time the batched path only (no baseline, no check)")
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3, help="alternating pairs of fused and unfused fp32 runs")
    p.add_argument("--no-fresh-memory", action="store_true", help="skip the fresh-process peak-memory run per K")
    add_common_args(p)
    args = p.parse_args(argv)
    threads = apply_threads(args.threads)
    device = vaelab.pick_device(args.device)
    name = args.dataset or default_dataset()
    model = trained_model(name, args.train_epochs, args.train_size, device, args.hidden, args.latent_dim)
    test = load_dataset(name, "test", binarize="static" if name == "digits" else None)
    if args.n:
        test = subset(test, args.n, seed=0)
    x = test.x.to(device)
    n, d = x.shape[0], model.config["latent_dim"]
    rows, notes = [], []
    flops = mlp_flops(model.decoder)                       # per image and sample: the decoder; the encoder once
    shapes = linear_shapes(model.decoder)
    for k in args.k:
        chunk = args.chunk or samples_per_chunk(model, x[:args.batch_size], k)
        batched, fp32 = {}, None
        iw_log_px(model, x[:min(n, 8)], min(k, 64), batch_size=args.batch_size)              # warm-up
        with unfused():
            iw_log_px(model, x[:min(n, 8)], min(k, 64), batch_size=args.batch_size)
        secs, cpu, peaks, mem_mb = {"fused": [], "unfused": []}, {"fused": [], "unfused": []}, [], 0.0
        for rep in range(args.repeats):                    # alternate, so load drift hits both alike
            peaks.append(matmul_peak(device, shapes, rows=args.batch_size * 2))
            for which in (("fused", "unfused") if rep % 2 == 0 else ("unfused", "fused")):
                with PeakMemory(device) as mem, (unfused() if which == "unfused" else contextlib.nullcontext()):
                    lp, s, c = timed_cpu(iw_log_px, device, model, x, k, batch_size=args.batch_size, chunk=chunk,
                                         seed=args.seed)
                secs[which].append(s)
                cpu[which].append(c if device.type == "cpu" else s)
                if which == "fused":
                    batched["fp32"], mem_mb = lp.float(), max(mem_mb, mem.mb)
                else:
                    unfused_lp = lp.float()
        peaks.append(matmul_peak(device, shapes, rows=args.batch_size * 2))
        s = statistics.median(secs["fused"])
        peak = statistics.median(p["peak"] for p in peaks)
        gflops = n * k * flops / statistics.median(cpu["fused"]) / 1e9
        ratios = [u / f for u, f in zip(secs["unfused"], secs["fused"])]
        fp32 = {"K": k, "n": n, "precision": "fp32", "batched_s": s, "images_per_s": n / s,
                "batched_s_per_10k": s * 10000 / n, "batched_peak_mb": mem_mb, "nll": float(-batched["fp32"].mean()),
                "gflops": gflops, "peak_gflops": peak, "pct_of_peak": 100 * gflops / peak,
                "gflops_wall": n * k * flops / s / 1e9,
                "unfused_gflops": n * k * flops / statistics.median(cpu["unfused"]) / 1e9,
                "cpu_seconds_each_run": cpu,
                "fused_speedup": statistics.median(ratios), "fused_speedup_spread": spread(ratios),
                "fused_vs_unfused_max_abs_diff": float((batched["fp32"] - unfused_lp).abs().max()),
                "matmul_peaks": peaks, "seconds_each_run": secs}
        if device.type == "cpu" and not args.no_fresh_memory:
            fp32["fresh_process_peak_mb"] = fresh_peak_mb(model, x, k, args.batch_size, chunk)
        rows.append(fp32)
        for prec in [q for q in args.precision if q != "fp32"]:
            with PeakMemory(device) as mem:
                lp, s = timed(iw_log_px, device, model, x, k, batch_size=args.batch_size, chunk=chunk,
                              seed=args.seed, precision=prec)
            batched[prec] = lp.float()
            rows.append({"K": k, "n": n, "precision": prec, "batched_s": s, "images_per_s": n / s,
                         "batched_s_per_10k": s * 10000 / n, "batched_peak_mb": mem.mb, "nll": float(-lp.float().mean()),
                         "speedup_vs_fp32": fp32["batched_s"] / s,
                         "nll_diff_vs_fp32": float((batched["fp32"] - lp.float()).mean())})
        if args.no_loop:
            continue
        tape_gb = k * n * d * 4 / 2**30
        eps = noise_tape(n, k, d, args.batch_size, chunk, args.seed, device) if tape_gb <= args.tape_max_gb else None
        if eps is None:
            notes.append(f"K={k}: the noise tape ({tape_gb:.1f} GB) exceeds --tape-max-gb; the loop drew its own "
                         "noise, so its agreement with the batched path is statistical only")
        per_example_log_px(model, x[:2], k)                                                      # warm-up
        with PeakMemory(device) as mem:
            ref, s = timed(per_example_log_px, device, model, x, k, eps)
        del eps
        diff = (batched["fp32"] - ref.float())
        fp32.update({"loop_s": s, "speedup": s / fp32["batched_s"], "loop_peak_mb": mem.mb,
                     "nll_loop": float(-ref.float().mean()), "mean_nll_diff": float(diff.mean().abs()),
                     "max_abs_diff": float(diff.abs().max()), "same_noise": tape_gb <= args.tape_max_gb,
                     "agree_0.01": bool(diff.mean().abs() <= 0.01)})
    columns = ["K", "n", "precision", "batched_s", "images_per_s", "batched_s_per_10k", "nll", "gflops",
               "peak_gflops", "pct_of_peak", "unfused_gflops", "fused_speedup"]
    if not args.no_loop:
        columns += ["loop_s", "speedup", "mean_nll_diff", "max_abs_diff", "agree_0.01"]
    if len(args.precision) > 1 or args.precision != ["fp32"]:
        columns += ["speedup_vs_fp32", "nll_diff_vs_fp32"]
    columns += ["batched_peak_mb"] + ([] if args.no_fresh_memory or device.type != "cpu" else ["fresh_process_peak_mb"])
    arch = "-".join(str(h) for h in [x[0].numel(), *args.hidden, d])
    notes += [f"model: MLP VAE {arch} (Bernoulli), load_or_train, {args.train_epochs} epochs on {name}"
              + (f" ({args.train_size} training examples)" if args.train_size else ""),
              f"batch_size {args.batch_size}, samples per chunk: iw_log_px's rule unless --chunk; {threads} CPU "
              "thread(s)", "speedup = loop seconds / batched seconds; the loop is fed the batched path's own noise "
              "(drawn before timing), so both compute the same numbers (mean_nll_diff: |difference of mean NLL|, "
              "nats; check <= 0.01)", "batched_s_per_10k: batched seconds scaled linearly to 10k images; GPU target "
              "for K = 5000: <= 5 s",
              f"gflops: the decoder's matmul FLOPs ({flops / 1e6:.3g} MFLOP per image and sample, forward only; the "
              "encoder's once per image is left out) over the fused fp32 run's median CPU seconds (this process's CPU "
              "time on a CPU, which other jobs on a shared machine do not inflate; gflops_wall: over wall seconds); "
              "peak_gflops: the best "
              f"fp32 matmul of this run (a 2048^2 square or the decoder's own layer shapes at {2 * args.batch_size} "
              f"rows), measured before each of the {args.repeats} pairs and after the last, median; pct_of_peak = "
              "gflops / peak_gflops",
              "fused_speedup: unfused wall seconds / fused wall seconds, median over alternating pairs (min/median/max in "
              "fused_speedup_spread); unfused = the same iw_log_px, same draws, with log p(x|z) as "
              "model.decode(z).log_prob(x) (the path before issue #20)",
              "batched_peak_mb: peak-RSS growth in this process (coarse, and it inherits the allocator's state from "
              "earlier runs); fresh_process_peak_mb: the same run of iw_log_px alone in a fresh Python process"]
    rec = record("iwnll_throughput", f"IW-NLL throughput: iw_log_px (batched) vs one example at a time ({name} "
                 "test images)", "per-example loop (textbook: for each x, K samples, logsumexp)", device,
                 {**vars(args), "dataset": name}, columns, rows, notes)
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
