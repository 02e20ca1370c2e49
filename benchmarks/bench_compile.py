"""Does fit(compile=True) pay on a long run? Whole trainings, compilation included, against fit() in the same run.

    VAELAB_DATA_DIR=... python benchmarks/bench_compile.py [--epochs 300] [--pairs 1] [--train-size N]
        [--hidden 200 200] [--latent-dim 16] [--batch-size 128] [--device cpu|cuda] [--threads 1] [--json out.json]

Baseline: vaelab.fit(compile=False) (the eager step). Both train the same MLP VAE from the same initial weights
on the same data with the same seed, one whole --epochs run each, in alternating order over --pairs pairs; each
compiled run starts from an empty compile cache (torch.compiler.reset()), so it pays its compilation in full (the
on-disk kernel cache of Inductor may still shorten it; the first pair's compiled run is the cold one), and compiles
in this process (Inductor's compile_threads = 1), so that its CPU seconds include the compilation. Reported:
whole-run wall and CPU seconds (the CPU seconds of this process are what one thread's share of a busy machine is
judged by), the compiled run's net saving, the final training loss of both, and -ELBO on up to 2000 test images
(the two runs draw different noise, so they agree statistically, not bit for bit). Figure of merit: eager seconds /
compiled seconds for the whole run (> 1: compiling pays at this length).
"""
from __future__ import annotations

import argparse
import copy
import statistics

import torch

import vaelab
from vaelab.data import load_dataset, subset
from vaelab.metrics import eval_inputs
from vaelab.metrics.likelihood import elbo_parts
from vaelab.models import build_model

from _common import add_common_args, apply_threads, emit, record, timed_cpu
from _flops import spread
from bench_fit_vs_dataloader import train_flops_per_example, training_set


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None, help="default: binarized_mnist if prepared, else digits")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--pairs", type=int, default=1)
    p.add_argument("--train-size", type=int, default=None, help="a seeded subset of the training split")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    p.add_argument("--latent-dim", type=int, default=16)
    add_common_args(p, threads=None)
    args = p.parse_args(argv)
    threads = apply_threads(args.threads)
    device = vaelab.pick_device(args.device)
    name, ds = training_set(args.dataset, args.train_size)
    test = load_dataset(name, "test", binarize=None if ds.meta.get("binarize") is None else "static")
    x_test = eval_inputs(subset(test, min(2000, len(test)), seed=0)).to(device)
    torch.manual_seed(0)
    init = build_model("mlp", ds.meta["shape"], args.latent_dim, args.hidden)
    arch = "-".join(str(h) for h in [ds.x[0].numel(), *args.hidden, args.latent_dim])

    import torch._inductor.config as inductor
    inductor.compile_threads = 1          # compile in this process, so that its CPU seconds count the compilation

    def train(compile):
        if compile:
            torch.compiler.reset()
        model = copy.deepcopy(init).to(device)
        h = vaelab.fit(model, ds, "elbo", epochs=args.epochs, batch_size=args.batch_size, seed=0, device=device,
                       progress=False, collapse_warning=False, compile=compile)
        parts = elbo_parts(model, x_test, generator=torch.Generator(device=device).manual_seed(0))
        return {"final_loss": h[-1]["loss"], "test_neg_elbo": float((parts["rec"] + parts["kl"]).mean()),
                "first_epoch_s": h[0]["seconds"], "later_epoch_s": statistics.median(r["seconds"] for r in h[1:])
                if len(h) > 1 else None}

    runs = {"eager": [], "compiled": []}
    for pair in range(args.pairs):
        for method in (["compiled", "eager"] if pair % 2 == 0 else ["eager", "compiled"]):
            out, wall, cpu = timed_cpu(train, device, method == "compiled")
            runs[method].append({**out, "wall_s": wall, "cpu_s": cpu if device.type == "cpu" else wall})
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s", "final_loss", "test_neg_elbo")}
           for m, rs in runs.items()}
    flops = len(ds) * args.epochs * train_flops_per_example(init)
    row = {"epochs": args.epochs, "n_train": len(ds),
           "eager_wall_s": med["eager"]["wall_s"], "compiled_wall_s": med["compiled"]["wall_s"],
           "eager_cpu_s": med["eager"]["cpu_s"], "compiled_cpu_s": med["compiled"]["cpu_s"],
           "speedup_cpu": med["eager"]["cpu_s"] / med["compiled"]["cpu_s"],
           "speedup_wall": med["eager"]["wall_s"] / med["compiled"]["wall_s"],
           "speedup_cpu_spread": spread([e["cpu_s"] / c["cpu_s"] for e, c in zip(runs["eager"], runs["compiled"])]),
           "net_saving_cpu_s": med["eager"]["cpu_s"] - med["compiled"]["cpu_s"],
           "compile_first_epoch_extra_s": statistics.median(c["first_epoch_s"] - e["first_epoch_s"]
                                                            for e, c in zip(runs["eager"], runs["compiled"])),
           "eager_gflops": flops / med["eager"]["cpu_s"] / 1e9, "compiled_gflops": flops / med["compiled"]["cpu_s"] / 1e9,
           "eager_final_loss": med["eager"]["final_loss"], "compiled_final_loss": med["compiled"]["final_loss"],
           "eager_test_neg_elbo": med["eager"]["test_neg_elbo"],
           "compiled_test_neg_elbo": med["compiled"]["test_neg_elbo"], "runs": runs}
    rec = record("compile_long_run", f"fit(compile=True) against fit() over whole {args.epochs}-epoch trainings "
                 f"(MLP {arch}, {name}, {len(ds)} training examples, batch {args.batch_size})", "vaelab.fit(compile=False)",
                 device, {**vars(args), "dataset": name, "model": f"mlp {arch}"},
                 ["epochs", "eager_cpu_s", "compiled_cpu_s", "speedup_cpu", "speedup_wall", "net_saving_cpu_s",
                  "compile_first_epoch_extra_s", "eager_final_loss", "compiled_final_loss"], [row],
                 [f"{args.pairs} alternating pair(s) of whole trainings, compilation included (the compile cache is "
                  f"reset before each compiled run); {threads} CPU thread(s)",
                  "speedup_cpu: eager CPU seconds / compiled CPU seconds of this process (wall on a GPU)",
                  "gflops: matmul FLOPs of training per CPU second, as bench_fit_vs_dataloader counts them"])
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
