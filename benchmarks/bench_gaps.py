"""Benchmark: the gap decomposition (vaelab.metrics.inference_gaps) on a test split, with wall time.

    OMP_NUM_THREADS=1 python benchmarks/bench_gaps.py                      # quick: digits, 300 points
    VAELAB_DATA_DIR=... python benchmarks/bench_gaps.py --dataset binarized_mnist --points 500 --epochs 5

Trains (or loads from the cache) one model with load_or_train, then times inference_gaps. Prints one JSON
line per run with the machine, the settings and the seconds; no timed assertions.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch


def main(argv=None) -> None:
    import vaelab
    from vaelab.metrics import eval_inputs, inference_gaps

    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="digits")
    p.add_argument("--points", type=int, default=300)
    p.add_argument("--iw-samples", type=int, default=500)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--latent-dim", type=int, default=8)
    p.add_argument("--hidden", type=int, nargs="+", default=[128, 128])
    p.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    binarize = "static" if a.dataset == "digits" else None
    cfg = vaelab.TrainConfig(dataset=a.dataset, latent_dim=a.latent_dim, hidden=a.hidden, epochs=a.epochs,
                             binarize=binarize)
    dev = vaelab.pick_device(a.device)
    t0 = time.perf_counter()
    model, _ = vaelab.load_or_train(cfg, device=dev)
    train_s = time.perf_counter() - t0
    ds = vaelab.data.subset(vaelab.load_dataset(a.dataset, "test", binarize=binarize), a.points, seed=0)
    x = eval_inputs(ds).to(dev)
    t0 = time.perf_counter()
    g = inference_gaps(model, x, iw_samples=a.iw_samples, steps=a.steps)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    gap_s = time.perf_counter() - t0
    g.pop("per_example")
    print(json.dumps({"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
                      "device": str(dev), "dataset": a.dataset, "epochs": a.epochs, "train_or_load_s": round(train_s, 1),
                      "gap_s": round(gap_s, 1), **{k: round(v, 4) if isinstance(v, float) else v for k, v in g.items()}}))


if __name__ == "__main__":
    main()
