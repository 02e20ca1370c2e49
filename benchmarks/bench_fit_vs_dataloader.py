"""Epoch time of vaelab.fit against a textbook PyTorch DataLoader loop: same MLP VAE, same data, one run.

Baseline ("textbook"): TensorDataset + DataLoader(shuffle=True), the loss written as in pytorch/examples
vae/main.py (BCE summed over pixels + analytic KL), Adam. vaelab.fit: data resident on the device,
index-slice batches, statistics summed on the device. Both train the same architecture from the same
initial weights; whole N-epoch trainings are timed (set-up included) and the two methods alternate so drift
in machine load hits both alike.

    python benchmarks/bench_fit_vs_dataloader.py [--dataset binarized_mnist] [--epochs 3] [--device cpu]

Uses binarized MNIST from the data directory (VAELAB_DATA_DIR) when it is there, else digits. Prints a
JSON report; the figure of merit is `speedup` = textbook seconds per epoch / vaelab seconds per epoch.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import vaelab
from vaelab.data import available_datasets, load_dataset
from vaelab.models import build_model


def textbook_epoch(model, opt, loader, device):
    model.train()
    total = 0.0
    for (x,) in loader:
        x = x.to(device)
        q = model.encode(x)
        z = q.mu + torch.randn_like(q.mu) * torch.exp(0.5 * q.logvar)
        logits = model.decode(z).logits
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + q.logvar - q.mu.pow(2) - q.logvar.exp())
        loss = (bce + kld) / x.shape[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * x.shape[0]
    return total / len(loader.dataset)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="default: binarized_mnist if prepared, else digits")
    p.add_argument("--epochs", type=int, default=5, help="epochs per timed training run")
    p.add_argument("--repeats", type=int, default=3, help="timed training runs per method")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice); 1 avoids contention on a busy machine")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    name = args.dataset or ("binarized_mnist" if available_datasets()["binarized_mnist"] == "ready" else "digits")
    device = vaelab.pick_device(args.device)
    ds = load_dataset(name, "train")
    if ds.meta["kind"] != "binary":
        ds = load_dataset(name, "train", binarize="static")
    torch.manual_seed(0)
    init = build_model("mlp", ds.meta["shape"], args.latent_dim)

    def run_fit(epochs):
        model = copy.deepcopy(init).to(device)
        vaelab.fit(model, ds, "elbo", epochs=epochs, batch_size=args.batch_size, seed=0, device=device,
                   progress=False)

    def run_textbook(epochs):
        model = copy.deepcopy(init).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(ds.x), batch_size=args.batch_size, shuffle=True)
        for _ in range(epochs):
            textbook_epoch(model, opt, loader, device)

    # Whole trainings of N epochs from the same initial weights, set-up included (what a user waits for);
    # one warm-up run each, then the methods alternate so drift in machine load hits both alike.
    methods = {"vaelab_fit": run_fit, "textbook_dataloader": run_textbook}
    for run in methods.values():
        run(1)
    times = {k: [] for k in methods}
    for rep in range(args.repeats):
        for method in (list(methods) if rep % 2 == 0 else list(methods)[::-1]):
            sync(device)
            t0 = time.perf_counter()
            methods[method](args.epochs)
            sync(device)
            times[method].append((time.perf_counter() - t0) / args.epochs)
    med = {k: statistics.median(v) for k, v in times.items()}
    report = {
        "benchmark": "epoch time, vaelab.fit vs textbook DataLoader loop",
        "dataset": name, "n_train": len(ds), "batch_size": args.batch_size, "model": "mlp 200-200",
        "latent_dim": args.latent_dim, "device": str(device),
        "machine": {"cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None},
        "seconds_per_epoch": {k: round(v, 4) for k, v in med.items()},
        "epochs_per_run": args.epochs,
        "seconds_per_epoch_each_run": {k: [round(t, 4) for t in v] for k, v in times.items()},
        "speedup": round(med["textbook_dataloader"] / med["vaelab_fit"], 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
