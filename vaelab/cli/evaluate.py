"""`python -m vaelab eval DIR`: the standard metrics of a trained model on one split."""
from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    e = sub.add_parser("eval", help="evaluate DIR/checkpoint.pt on a split")
    e.add_argument("dir")
    e.add_argument("--split", default="test", choices=["train", "valid", "test"])
    e.add_argument("--iw-samples", type=int, default=1000, help="K for the importance-sampled -log p(x)")
    e.add_argument("--batch-size", type=int, default=500)
    e.add_argument("--points", type=int, default=None, help="evaluate a seeded subset of this many examples")
    e.add_argument("--device", default="auto")
    e.add_argument("--json", action="store_true",
                   help="one JSON object: elbo, iw_nll (positive nats), rec, kl, mi, active_units, n, ...")
    e.set_defaults(func=run)


def run(args) -> int:
    from ..data import load_dataset, subset
    from ..metrics import evaluate
    from ..runtime import pick_device
    from ..train import load_checkpoint

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
