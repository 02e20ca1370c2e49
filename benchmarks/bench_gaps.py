"""Benchmark: the gap decomposition (vaelab.metrics.inference_gaps) on a test split, with wall time.

    OMP_NUM_THREADS=1 python benchmarks/bench_gaps.py                      # quick: digits, 300 points
    VAELAB_DATA_DIR=... python benchmarks/bench_gaps.py --dataset binarized_mnist --points 500 --epochs 5

Trains (or loads from the cache) one model with load_or_train, then times inference_gaps. Prints the JSON
record (benchmarks/_common.py: machine, settings, seconds, the gaps); --json also writes it.
"""
from __future__ import annotations

import argparse
import time

from _common import PeakMemory, add_common_args, apply_threads, emit, record, timed


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
    add_common_args(p, threads=None)
    a = p.parse_args(argv)
    apply_threads(a.threads)
    binarize = "static" if a.dataset == "digits" else None
    cfg = vaelab.TrainConfig(dataset=a.dataset, latent_dim=a.latent_dim, hidden=a.hidden, epochs=a.epochs,
                             binarize=binarize)
    dev = vaelab.pick_device(a.device)
    t0 = time.perf_counter()
    model, _ = vaelab.load_or_train(cfg, device=dev)
    train_s = time.perf_counter() - t0
    ds = vaelab.data.subset(vaelab.load_dataset(a.dataset, "test", binarize=binarize), a.points, seed=0)
    x = eval_inputs(ds).to(dev)
    with PeakMemory(dev) as mem:
        g, gap_s = timed(inference_gaps, dev, model, x, iw_samples=a.iw_samples, steps=a.steps)
    g.pop("per_example")
    quantities = [k for k, v in g.items() if isinstance(v, float)]
    row = {"points": x.shape[0], "iw_samples": a.iw_samples, "steps": a.steps, "gap_s": gap_s, "peak_mb": mem.mb,
           "train_or_load_s": train_s, **g}
    emit(record("gap_decomposition", f"Gap decomposition end to end (inference_gaps, {a.dataset} test split)",
                "none (end-to-end wall time)", dev, vars(a),
                ["points", "iw_samples", "steps", "gap_s", "peak_mb", *quantities], [row],
                [f"model: MLP {a.hidden}, latent {a.latent_dim}, load_or_train {a.epochs} epochs "
                 f"({train_s:.1f} s to train or load, not in gap_s)",
                 "quantities in nats (see vaelab.metrics.inference_gaps); GPU target for 10k points, K = 5000: "
                 "under a minute"]), a.json)


if __name__ == "__main__":
    main()
