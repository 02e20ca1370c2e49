"""The figures issue #20 owes from a GPU, in one command:

    VAELAB_DATA_DIR=... python benchmarks/bench_gpu.py --device cuda [--json results/cuda/gpu_figures.json]
    python benchmarks/bench_gpu.py --device cpu --tiny          # the same code at a toy size (the test suite's)

1. training: vaelab.fit against the textbook DataLoader loop (bench_fit_vs_dataloader.textbook_epoch), MLP VAE
   784-200-200-16, batch 128, same initial weights, alternating pairs of whole epochs; ratio min/median/max
   (goal: >= 20x on a GPU); and the same with fit(compile=True), whose step replays as a CUDA graph on a GPU
   (torch.compile mode "reduce-overhead"; vaelab.train.compiled), its compilation timed apart (--no-compile: skip);
2. -log p(x), K = 5000, over the 10k binarized-MNIST test images with iw_log_px (goal: <= 5 s on H100/H200);
3. the gap decomposition (inference_gaps) over the 10k test images, wall time;
4. SA-VAE, K = 20 SVI steps (hvp 'fd' and 'exact'), one training step relative to a VAE step
   (vaelab.train.cost, fresh processes).
Each figure names its machine (GPU name, torch, CUDA) in the JSON record. --tiny swaps in the built-in digits,
one epoch, small K and few points: it checks the code path, not the speed.
"""
from __future__ import annotations

import argparse
import copy
import statistics

import torch
from torch.utils.data import DataLoader, TensorDataset

import vaelab
from vaelab.data import available_datasets, load_dataset, subset
from vaelab.metrics import eval_inputs, inference_gaps, iw_log_px
from vaelab.models import build_model
from vaelab.train.cost import step_costs

from _common import PeakMemory, add_common_args, apply_threads, emit, record, timed
from _flops import spread
from bench_fit_vs_dataloader import textbook_epoch


def sizes(tiny: bool) -> dict:
    if tiny:
        return dict(dataset="digits", binarize="static", epochs=1, pairs=3, k=50, points=40, gap_points=8,
                    gap_k=20, gap_steps=3, savae_k=2, savae_repeats=1, hidden=(32, 32), latent=4, train_epochs=1)
    return dict(dataset="binarized_mnist", binarize=None, epochs=1, pairs=3, k=5000, points=None, gap_points=None,
                gap_k=5000, gap_steps=300, savae_k=20, savae_repeats=20, hidden=(200, 200), latent=16,
                train_epochs=50)


def training_ratio(s: dict, device, batch: int, compile: bool = False) -> dict:
    ds = load_dataset(s["dataset"], "train", binarize=s["binarize"])
    torch.manual_seed(0)
    init = build_model("mlp", ds.meta["shape"], s["latent"], s["hidden"])

    def fit_epochs(compile=compile):
        vaelab.fit(copy.deepcopy(init), ds, "elbo", epochs=s["epochs"], batch_size=batch, seed=0, device=device,
                   progress=False, collapse_warning=False, compile=compile)

    def textbook_epochs():
        model = copy.deepcopy(init).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(ds.x), batch_size=batch, shuffle=True)
        for _ in range(s["epochs"]):
            textbook_epoch(model, opt, loader, device)

    warm_s = timed(fit_epochs, device)[1]                            # warm-up (and compilation)
    textbook_epochs()
    fit_s, book_s = [], []
    for rep in range(s["pairs"]):
        order = [(fit_epochs, fit_s), (textbook_epochs, book_s)]
        for fn, out in (order if rep % 2 == 0 else order[::-1]):
            out.append(timed(fn, device)[1] / s["epochs"])
    ratios = [b / f for f, b in zip(fit_s, book_s)]
    how = "vaelab.fit(compile=True)" if compile else "vaelab.fit"
    return {"figure": f"training: textbook s/epoch / {how} s/epoch", "value": statistics.median(ratios),
            "spread": spread(ratios), "fit_s_per_epoch": statistics.median(fit_s),
            "textbook_s_per_epoch": statistics.median(book_s), "goal": ">= 20 on a GPU",
            **({"compile_s": warm_s - s["epochs"] * statistics.median(fit_s)} if compile else {})}


def trained(s: dict, device):
    cfg = vaelab.TrainConfig(dataset=s["dataset"], model="mlp", hidden=list(s["hidden"]), latent_dim=s["latent"],
                             epochs=s["train_epochs"], binarize=s["binarize"])
    return vaelab.load_or_train(cfg, device=device, progress=False)[0].eval()


def test_images(s: dict, points, device):
    ds = load_dataset(s["dataset"], "test", binarize=s["binarize"])
    if points:
        ds = subset(ds, points, seed=0)
    return eval_inputs(ds).to(device)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="toy sizes on the built-in digits: the code path only")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"],
                   help="arithmetic of the -log p(x) figure (tf32/bf16 on Ampere and later: vaelab check)")
    p.add_argument("--skip", nargs="*", default=[], choices=["training", "nll", "gaps", "savae"])
    p.add_argument("--no-compile", action="store_true", help="skip the compiled-step training figure")
    add_common_args(p, device="cuda", threads=1)
    args = p.parse_args(argv)
    apply_threads(args.threads)
    device = vaelab.pick_device(args.device)
    s = sizes(args.tiny)
    if not args.tiny and available_datasets()["binarized_mnist"] != "ready":
        raise SystemExit("binarized_mnist is not prepared: set VAELAB_DATA_DIR to a folder holding it "
                         "(python -m vaelab data binarized_mnist), or run with --tiny")
    rows = []
    if "training" not in args.skip:
        rows.append(training_ratio(s, device, args.batch_size))
        if not args.no_compile:
            rows.append(training_ratio(s, device, args.batch_size, compile=True))
    model = trained(s, device) if {"nll", "gaps"} - set(args.skip) else None
    if "nll" not in args.skip:
        x = test_images(s, s["points"], device)
        iw_log_px(model, x[:16], 16)                                  # warm-up
        with PeakMemory(device) as mem:
            lp, sec = timed(iw_log_px, device, model, x, s["k"], seed=0, precision=args.precision)
        rows.append({"figure": f"-log p(x), K = {s['k']}, {x.shape[0]} test images, {args.precision}: seconds",
                     "value": sec,
                     "nll": float(-lp.mean()), "peak_mb": mem.mb, "goal": "<= 5 s on H100/H200 (10k images)"})
    if "gaps" not in args.skip:
        x = test_images(s, s["gap_points"], device)
        g, sec = timed(inference_gaps, device, model, x, iw_samples=s["gap_k"], steps=s["gap_steps"])
        rows.append({"figure": f"gap decomposition, {x.shape[0]} test images, K = {s['gap_k']}, "
                               f"{s['gap_steps']} q* steps: seconds", "value": sec,
                     **{k: v for k, v in g.items() if isinstance(v, float)}})
    if "savae" not in args.skip:
        configs = [("elbo", 0, "exact"), ("savae", s["savae_k"], "fd"), ("savae", s["savae_k"], "exact")]
        for r in step_costs(configs, repeats=s["savae_repeats"], device=str(device), threads=args.threads)[1:]:
            rows.append({"figure": f"SA-VAE step, K = {r['K']}, hvp {r['hvp']}: x VAE step", "value": r["time_x_vae"],
                         "seconds": r["seconds"], "memory_x_vae": r["memory_x_vae"]})
    rec = record("gpu_figures", "The GPU figures of issue #20 (training ratio, -log p(x) K=5000, gaps, SA-VAE)",
                 "textbook DataLoader loop (training); a VAE step (SA-VAE); none (wall times)", device,
                 {**vars(args), **s}, ["figure", "value"], rows,
                 ["--tiny: toy sizes, the code path only, not a speed figure" if args.tiny else
                  f"full sizes: MLP 784-{s['hidden'][0]}-{s['hidden'][1]}-{s['latent']}, batch {args.batch_size}",
                  "training ratio: min/median/max over alternating pairs in 'spread'"])
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
