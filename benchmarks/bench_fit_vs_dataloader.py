"""Training throughput: vaelab.fit against a textbook PyTorch DataLoader loop, same MLP VAE, same data, one run.

Baseline ("textbook"): TensorDataset + DataLoader(shuffle=True) over host memory, a host-to-device copy per
batch, the loss written as in pytorch/examples vae/main.py (BCE summed over pixels + analytic KL), Adam, and
`loss.item()` per batch. vaelab.fit: data resident on the device, index-slice batches, fused Adam, statistics
summed on the device. Both train the same architecture (default 784-512-512-32, Bernoulli) from the same initial
weights; whole N-epoch trainings are timed (set-up included), after one warm-up epoch each, and the two methods
alternate so drift in machine load hits both alike.

    python benchmarks/bench_fit_vs_dataloader.py [--dataset binarized_mnist] [--batch-size 128 1024] [--epochs 3]
        [--repeats 3] [--train-size N] [--hidden 512 512] [--latent-dim 32] [--device cpu|cuda] [--threads 1]
        [--compile] [--json out.json]

--compile adds a third method, vaelab.fit(compile=True) (vaelab.train.compiled), timed alike. Its compilation
happens in its warm-up epoch and is reported as compile_s (its warm-up seconds less the eager fit's); judge it on
a long run, e.g. --epochs 300: it wins when 300 epochs' saving exceeds compile_s.

Uses binarized MNIST from the data directory (VAELAB_DATA_DIR) when it is there, else digits. Figure of merit:
`speedup` = vaelab.fit samples/s / textbook samples/s (medians over the repeats), per batch size.
"""
from __future__ import annotations

import argparse
import copy
import statistics

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import vaelab
from vaelab.data import available_datasets, load_dataset, subset
from vaelab.models import build_model

from _common import PeakMemory, add_common_args, apply_threads, emit, record, timed, timed_cpu
from _flops import linear_shapes, matmul_peak, mlp_flops, spread


def train_flops_per_example(model) -> int:
    """Matmul FLOPs of one training example: forward F (encoder + decoder), backward 2F (input and weight
    gradients) less the input gradient of the encoder's first layer, which autograd skips (x needs none)."""
    first = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear))
    forward = mlp_flops(model.encoder) + mlp_flops(model.decoder)
    return 3 * forward - 2 * first.in_features * first.out_features


def textbook_epoch(model, opt, loader, device):
    model.train()
    total = 0.0
    for (x,) in loader:
        x = x.to(device)
        q = model.encode(x)
        z = q.mu + torch.randn_like(q.mu) * torch.exp(0.5 * q.logvar)
        logits = model.decode(z).logits
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + q.logvar - q.mu.pow(2) - q.logvar.exp())   # Kingma & Welling 2014, App. B
        loss = (bce + kld) / x.shape[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * x.shape[0]
    return total / len(loader.dataset)


def default_dataset() -> str:
    return "binarized_mnist" if available_datasets()["binarized_mnist"] == "ready" else "digits"


def training_set(dataset: str | None, train_size: int | None):
    """(name, binary training Dataset): `dataset` (None: default_dataset()), statically binarized if it is not
    binary already, cut to a seeded subset of train_size examples when given."""
    name = dataset or default_dataset()
    ds = load_dataset(name, "train")
    if ds.meta["kind"] != "binary":
        ds = load_dataset(name, "train", binarize="static")
    return name, (subset(ds, train_size, seed=0) if train_size else ds)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="default: binarized_mnist if prepared, else digits")
    p.add_argument("--epochs", type=int, default=3, help="epochs per timed training run")
    p.add_argument("--repeats", type=int, default=3, help="timed training runs per method and batch size")
    p.add_argument("--batch-size", type=int, nargs="+", default=[128, 1024])
    p.add_argument("--train-size", type=int, default=None, help="a seeded subset of the training split")
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    p.add_argument("--latent-dim", type=int, default=32)
    p.add_argument("--compile", action="store_true", help="also time vaelab.fit(compile=True)")
    add_common_args(p, threads=None)
    args = p.parse_args(argv)
    threads = apply_threads(args.threads)
    device = vaelab.pick_device(args.device)
    name, ds = training_set(args.dataset, args.train_size)
    torch.manual_seed(0)
    init = build_model("mlp", ds.meta["shape"], args.latent_dim, args.hidden)
    arch = "-".join(str(h) for h in [ds.x[0].numel(), *args.hidden, args.latent_dim])

    def run_fit(epochs, batch, compile=False):
        model = copy.deepcopy(init).to(device)
        vaelab.fit(model, ds, "elbo", epochs=epochs, batch_size=batch, seed=0, device=device, progress=False,
                   collapse_warning=False, compile=compile)

    def run_textbook(epochs, batch):
        model = copy.deepcopy(init).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(ds.x), batch_size=batch, shuffle=True)
        for _ in range(epochs):
            textbook_epoch(model, opt, loader, device)

    methods = {"vaelab_fit": run_fit, "textbook_dataloader": run_textbook}
    if args.compile:
        methods["vaelab_fit_compiled"] = lambda epochs, batch: run_fit(epochs, batch, compile=True)
    rows = []
    for batch in args.batch_size:
        warm = {}
        for name, run in methods.items():
            _, warm[name] = timed(run, device, 1, batch)     # warm-up: allocator, kernels, caches (and compilation)
        secs, cpu, peak, peaks = {k: [] for k in methods}, {k: [] for k in methods}, {}, []
        shapes = linear_shapes(init.encoder) + linear_shapes(init.decoder)
        for rep in range(args.repeats):
            peaks.append(matmul_peak(device, shapes, rows=batch)["peak"])
            for method in (list(methods) if rep % 2 == 0 else list(methods)[::-1]):
                with PeakMemory(device) as mem:
                    _, s, c = timed_cpu(methods[method], device, args.epochs, batch)
                secs[method].append(s / args.epochs)
                cpu[method].append((c if device.type == "cpu" else s) / args.epochs)
                peak[method] = max(peak.get(method, 0.0), mem.mb)
        peaks.append(matmul_peak(device, shapes, rows=batch)["peak"])
        med = {k: statistics.median(v) for k, v in secs.items()}
        gflops = len(ds) * train_flops_per_example(init) / statistics.median(cpu["vaelab_fit"]) / 1e9
        ratios = [b / f for f, b in zip(secs["vaelab_fit"], secs["textbook_dataloader"])]
        rows.append({"batch_size": batch, "fit_samples_per_s": len(ds) / med["vaelab_fit"],
                     "textbook_samples_per_s": len(ds) / med["textbook_dataloader"],
                     "speedup": med["textbook_dataloader"] / med["vaelab_fit"],
                     "fit_s_per_epoch": med["vaelab_fit"], "textbook_s_per_epoch": med["textbook_dataloader"],
                     "fit_peak_mb": peak["vaelab_fit"], "textbook_peak_mb": peak["textbook_dataloader"],
                     "s_per_epoch_each_run": secs, "cpu_s_per_epoch_each_run": cpu, "speedup_spread": spread(ratios), "fit_gflops": gflops,
                     "peak_gflops": statistics.median(peaks), "pct_of_peak": 100 * gflops / statistics.median(peaks),
                     "matmul_peaks": peaks})
        if args.compile:
            c = "vaelab_fit_compiled"
            cg = len(ds) * train_flops_per_example(init) / statistics.median(cpu[c]) / 1e9
            rows[-1].update({"compiled_samples_per_s": len(ds) / med[c], "compiled_s_per_epoch": med[c],
                             "compile_speedup": med["vaelab_fit"] / med[c],
                             "compile_speedup_spread": spread([f / g for f, g in zip(secs["vaelab_fit"], secs[c])]),
                             "compiled_gflops": cg, "compiled_pct_of_peak": 100 * cg / statistics.median(peaks),
                             "compiled_peak_mb": peak[c], "compile_s": warm[c] - warm["vaelab_fit"]})
    rec = record("fit_throughput", f"Training throughput: vaelab.fit vs a textbook DataLoader loop (MLP {arch}, "
                 f"{name}, {len(ds)} training examples)", "textbook_dataloader (pytorch/examples vae/main.py style)",
                 device, {**vars(args), "dataset": name, "n_train": len(ds), "model": f"mlp {arch}"},
                 ["batch_size", "fit_samples_per_s", "textbook_samples_per_s", "speedup", "fit_gflops", "peak_gflops",
                  "pct_of_peak", "fit_peak_mb", "textbook_peak_mb"]
                 + (["compile_speedup", "compiled_pct_of_peak", "compile_s"] if args.compile else []), rows,
                 [f"whole {args.epochs}-epoch trainings, set-up included, median of {args.repeats} alternating runs "
                  f"after one warm-up epoch; {threads} CPU thread(s)",
                  "speedup = fit samples/s / textbook samples/s; target: >= 1 on CPU, >= 20 on GPU at batch 128",
                  "peak memory: growth during one timed run (CUDA: max_memory_allocated; CPU: peak RSS, coarse)",
                  f"fit_gflops: matmul FLOPs of training ({train_flops_per_example(init) / 1e6:.3g} MFLOP per example: "
                  "forward, and backward as twice the forward less the encoder's first-layer input gradient) over fit's "
                  "median CPU seconds of this process (wall seconds on a GPU), set-up and epoch-end statistics included; peak_gflops: the best fp32 matmul of this "
                  "run (2048^2, or the model's layer shapes at the batch size), measured before each pair and after "
                  "the last, median; speedup_spread: min/median/max of the per-pair ratios"])
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
