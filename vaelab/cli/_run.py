"""What the subcommands share: check arguments and output folders up front, find a run's checkpoint, load the model
and its data, print a report."""
from __future__ import annotations

from pathlib import Path


def check_out_dir(path, option: str = "--out") -> Path:
    """`path` as a Path, when a folder can be written there; else a ValueError naming the option, before any work."""
    from ..runtime import dir_problem

    problem = dir_problem(path)
    if problem:
        raise ValueError(f"{option} {path}: {problem}; choose a folder you can write to")
    return Path(path)


def check_counts(args, **minimums) -> None:
    """check_int on each named argument that is not None (e.g. points=1: refuse --points 0 and below)."""
    from ..checks import check_int

    for name, minimum in minimums.items():
        value = getattr(args, name, None)
        if value is not None:
            check_int(name, value, minimum)


def load_run(args, command: str):
    """(model, train_config dict, Dataset of args.split, subset to args.points) for the run in args.dir."""
    from ..data import load_dataset, subset
    from ..runtime import pick_device
    from ..train import load_checkpoint

    check_counts(args, points=1)
    path = Path(args.dir)
    ckpt = path / "checkpoint.pt" if path.is_dir() and not path.name.endswith(".pt") else path
    if not ckpt.exists():
        raise ValueError(f"no checkpoint at {ckpt}; train one with `python -m vaelab train --out DIR`")
    model, payload = load_checkpoint(ckpt, device=pick_device(args.device))
    cfg = payload["train_config"]
    ds = load_dataset(cfg["dataset"], args.split, binarize=cfg.get("binarize"), seed=cfg.get("seed", 0),
                      vocab_size=cfg.get("vocab_size"))
    if args.points is not None:
        ds = subset(ds, args.points, seed=0)
    return model, cfg, ds


def print_report(result: dict, as_json: bool, width: int = 14) -> None:
    import json

    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<{width}} {value:.4f}" if isinstance(value, float) else f"{key:<{width}} {value}")


def add_ray_arguments(parser, what: str = "training") -> None:
    """--ray [ADDRESS] and the resources of each Ray task (vaelab.cluster.RayOptions)."""
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help=f"run each {what} as a Ray task (needs pip install \"vaelab[cluster]\"): alone, a local "
                             "Ray runtime on this machine; 'auto' or HOST:PORT joins a running Ray cluster (the cache "
                             "must then be on storage every node shares)")
    parser.add_argument("--ray-cpus-per-trial", type=float, default=1.0, metavar="N",
                        help="CPUs each Ray task reserves, and its torch threads (default 1)")
    parser.add_argument("--ray-gpus-per-trial", type=float, default=0.0, metavar="F",
                        help="fraction of a GPU each Ray task reserves, e.g. 0.25: four small VAEs share a card "
                             "(default 0: CPUs only)")
    parser.add_argument("--ray-retries", type=int, default=3, metavar="N",
                        help="times a task whose worker died is run again (default 3)")
    parser.add_argument("--ray-num-cpus", type=int, default=None, metavar="N",
                        help="CPUs the local Ray runtime may use (default all; not with an ADDRESS)")


def ray_options(args, progress: bool | None = None):
    """A vaelab.cluster.RayOptions from add_ray_arguments' options, or None without --ray."""
    if args.ray is None:
        return None
    from ..cluster import RayOptions
    from ..cluster.ray_runner import require_ray

    options = RayOptions(address=args.ray, cpus_per_trial=args.ray_cpus_per_trial,
                         gpus_per_trial=args.ray_gpus_per_trial, max_retries=args.ray_retries,
                         num_cpus=args.ray_num_cpus, progress=progress)
    require_ray()                   # before any work: without the extra, say how to install it
    return options
