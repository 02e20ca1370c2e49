"""What the subcommands that read a trained run share: find its checkpoint, load the model and its data."""
from __future__ import annotations

from pathlib import Path


def load_run(args, command: str):
    """(model, train_config dict, Dataset of args.split, subset to args.points) for the run in args.dir."""
    from ..data import load_dataset, subset
    from ..runtime import pick_device
    from ..train import load_checkpoint

    path = Path(args.dir)
    ckpt = path / "checkpoint.pt" if path.is_dir() else path
    if not ckpt.exists():
        raise SystemExit(f"vaelab {command}: no checkpoint at {ckpt}; train one with `python -m vaelab train --out DIR`")
    model, payload = load_checkpoint(ckpt, device=pick_device(args.device))
    cfg = payload["train_config"]
    ds = load_dataset(cfg["dataset"], args.split, binarize=cfg.get("binarize"), seed=cfg.get("seed", 0))
    if args.points:
        ds = subset(ds, args.points, seed=0)
    return model, cfg, ds


def print_report(result: dict, as_json: bool, width: int = 14) -> None:
    import json

    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<{width}} {value:.4f}" if isinstance(value, float) else f"{key:<{width}} {value}")
