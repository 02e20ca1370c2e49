"""The posterior-collapse remedies table of notebook 02 at a chosen size, headless, with wall times.

    python benchmarks/bench_collapse_remedies.py [--text-train 10000] [--text-epochs 40] [--img-epochs 60]
        [--img-dataset digits|binarized_mnist] [--device auto] [--iw-samples 200] [--json table.json]

Text: synthetic_text, LSTM encoder/decoder (latent 8, hidden 64 unless --hidden). Images: statically
binarized digits (or binarized_mnist from the data directory), PixelCNN with global conditioning vs the
factorized MLP decoder. Every run goes through load_or_train (VAELAB_CACHE), so a rerun only scores.
Prints a markdown table (one row per decoder x remedy), the wall time of each block, then the JSON record.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

import vaelab
from vaelab.objectives import REMEDIES
from vaelab.train import TrainConfig, eval_split, remedy_table, train_remedies

from _common import add_common_args, emit, record

COLUMNS = ("variant", "remedy", "iw_nll", "iw_nll_se", "kl", "kl_se", "mi", "mi_se", "active_units", "probe_acc",
           "probe_acc_se", "ppl")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text-train", type=int, default=10000)
    p.add_argument("--text-epochs", type=int, default=40)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--img-dataset", default="digits")
    p.add_argument("--img-epochs", type=int, default=60)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--iw-samples", type=int, default=200)
    p.add_argument("--n-test", type=int, default=1000)
    add_common_args(p)
    p.add_argument("--out", dest="json", help="same as --json (older spelling)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = vaelab.pick_device(args.device)
    text = TrainConfig(dataset="synthetic_text", model="lstm", latent_dim=8, hidden=[args.hidden],
                       epochs=args.text_epochs, batch_size=64, train_size=args.text_train, diagnostics=True)
    img = TrainConfig(dataset=args.img_dataset, binarize="static", model="pixelcnn", conditioning="global",
                      layers=args.layers, latent_dim=8, hidden=[128], epochs=args.img_epochs, batch_size=64,
                      diagnostics=True)
    rows, times = [], {}
    t0 = time.perf_counter()
    runs = train_remedies(text, REMEDIES, device=device, progress=False, lstm={})
    rows += remedy_table(runs, eval_split(text, args.n_test), args.iw_samples)
    times["text"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    runs = train_remedies(img, [r for r in REMEDIES if r != "word_dropout"], device=device, progress=False,
                          pixelcnn={}, mlp={"model": "mlp"})
    rows += remedy_table(runs, eval_split(img, args.n_test), args.iw_samples)
    times["images"] = time.perf_counter() - t0
    print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in COLUMNS)
              + " |")
    print(f"\nwall seconds (train + score): {json.dumps({k: round(v, 1) for k, v in times.items()})}")
    rec = record("collapse_remedies", "Posterior-collapse remedies table (notebook 02), headless", "remedy 'none' "
                 "(plain ELBO)", device, vars(args), COLUMNS, rows,
                 [f"wall seconds (train + score): text {times['text']:.1f}, images {times['images']:.1f}; "
                  f"{torch.get_num_threads()} CPU thread(s)"])
    rec["seconds"] = times
    emit(rec, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
