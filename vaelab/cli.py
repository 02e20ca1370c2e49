"""python -m vaelab {check,train,eval}: thin wrappers over the package, for headless runs."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

QUICK_TRAIN_SIZE, QUICK_MAX_EPOCHS = 1000, 3


def cmd_check(args) -> int:
    from .report import environment_report

    report = environment_report()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for key, value in report.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<16} {v}")
        else:
            print(f"{key:<18} {value}")
    return 0


def cmd_train(args) -> int:
    from .train import TrainConfig, save_checkpoint, train, write_json

    cfg = TrainConfig(dataset=args.dataset, model=args.model, objective=args.objective, latent_dim=args.latent_dim,
                      hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      beta=args.beta, iw_samples=args.iw_samples, kl_warmup=args.kl_warmup, binarize=args.binarize,
                      train_size=args.train_size)
    if args.quick:
        cfg.train_size = min(cfg.train_size or QUICK_TRAIN_SIZE, QUICK_TRAIN_SIZE)
        cfg.epochs = min(cfg.epochs, QUICK_MAX_EPOCHS)
    out = Path(args.out)
    model, history = train(cfg, device=args.device, progress=not args.no_progress)
    save_checkpoint(out / "checkpoint.pt", model, train_config=cfg.to_dict(), history=history)
    write_json(out / "history.json", {"config": cfg.to_dict(), "interrupted": history.interrupted,
                                      "epochs": list(history)})
    last = history[-1] if history else {}
    print(f"wrote {out / 'checkpoint.pt'} ({len(history)} epochs; last loss {last.get('loss', float('nan')):.3f})",
          file=sys.stderr)
    return 130 if history.interrupted else 0


def cmd_eval(args) -> int:
    from .data import load_dataset, subset
    from .metrics import evaluate
    from .runtime import pick_device
    from .train import load_checkpoint

    path = Path(args.dir)
    ckpt = path / "checkpoint.pt" if path.is_dir() else path
    if not ckpt.exists():
        raise SystemExit(f"vaelab eval: no checkpoint at {ckpt}; train one with `python -m vaelab train --out DIR`")
    model, payload = load_checkpoint(ckpt, device=pick_device(args.device))
    cfg = payload["train_config"]
    ds = load_dataset(cfg["dataset"], args.split, binarize=cfg.get("binarize"), seed=cfg.get("seed", 0))
    if args.points:
        ds = subset(ds, args.points, seed=0)
    result = evaluate(model, ds, iw_samples=args.iw_samples, batch_size=args.batch_size)
    result.update(split=args.split, dataset=cfg["dataset"])
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<14} {value:.4f}" if isinstance(value, float) else f"{key:<14} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .data import dataset_names
    from .models import MODELS
    from .objectives import OBJECTIVES

    p = argparse.ArgumentParser(prog="python -m vaelab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="versions, device, offline datasets, widget front-end")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check)

    t = sub.add_parser("train", help="train a VAE and write DIR/checkpoint.pt and DIR/history.json")
    t.add_argument("--dataset", default="digits", choices=dataset_names())
    t.add_argument("--model", default="mlp", choices=MODELS)
    t.add_argument("--objective", default="elbo", choices=OBJECTIVES)
    t.add_argument("--latent-dim", type=int, default=16)
    t.add_argument("--hidden", type=int, nargs="+", default=[200, 200], help="MLP widths (conv: dense width)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--beta", type=float, default=1.0, help="KL weight for --objective beta")
    t.add_argument("--iw-samples", type=int, default=5, help="K for --objective iwae")
    t.add_argument("--kl-warmup", type=float, default=0.0, help="epochs of linear KL warm-up from 0 to 1")
    t.add_argument("--binarize", choices=["static", "dynamic"], default=None)
    t.add_argument("--train-size", type=int, default=None, help="train on a seeded subset of this many examples")
    t.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    t.add_argument("--quick", action="store_true",
                   help=f"at most {QUICK_TRAIN_SIZE} training examples and {QUICK_MAX_EPOCHS} epochs")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--out", required=True, help="output directory")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate DIR/checkpoint.pt on a split")
    e.add_argument("dir")
    e.add_argument("--split", default="test", choices=["train", "valid", "test"])
    e.add_argument("--iw-samples", type=int, default=1000, help="K for the importance-sampled -log p(x)")
    e.add_argument("--batch-size", type=int, default=500)
    e.add_argument("--points", type=int, default=None, help="evaluate a seeded subset of this many examples")
    e.add_argument("--device", default="auto")
    e.add_argument("--json", action="store_true",
                   help="one JSON object: elbo, iw_nll (positive nats), rec, kl, mi, active_units, n, ...")
    e.set_defaults(func=cmd_eval)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as err:
        print(f"vaelab {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
