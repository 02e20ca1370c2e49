"""`python -m vaelab gap DIR`: the inference-gap decomposition of a trained model on one split."""
from __future__ import annotations

import time


def add_parser(sub) -> None:
    from ._run import add_ray_arguments

    g = sub.add_parser("gap", help="approximation and amortization gaps of DIR/checkpoint.pt on a split")
    g.add_argument("dir")
    g.add_argument("--split", default="test", choices=["train", "valid", "test"])
    g.add_argument("--points", type=int, default=None, help="use a seeded subset of this many examples")
    g.add_argument("--iw-samples", type=int, default=1000, help="K for the importance-sampled log p(x)")
    g.add_argument("--steps", type=int, default=None,
                   help="per-example optimisation steps for q* (default: inference_gaps's; more if it warns that "
                        "q* has not converged)")
    g.add_argument("--lr", type=float, default=0.05, help="Adam step size of the per-example optimisation")
    g.add_argument("--no-fullcov", action="store_true", help="skip the full-covariance (richer) q*")
    g.add_argument("--ais", action="store_true", help="also estimate log p(x) by AIS (slow for big decoders)")
    g.add_argument("--batch-size", type=int, default=500)
    g.add_argument("--device", default="auto")
    g.add_argument("--shards", type=int, default=1,
                   help="split the examples into this many contiguous shards (whole batches) evaluated apart, with "
                        "--ray each as a Ray task: the same numbers as one piece (vaelab.metrics.shards)")
    add_ray_arguments(g, "shard")
    g.add_argument("--json", action="store_true",
                   help="one JSON object: log_px, elbo_qstar, elbo_q, approximation_gap, amortization_gap, ..., "
                        "each with its standard error over examples (<key>_se), and the convergence of q* "
                        "(qstar_gain, qstar_converged)")
    g.set_defaults(func=run)


def run(args) -> int:
    from ..checks import check_int
    from ..metrics import eval_inputs, inference_gaps
    from ._run import load_run, print_report, ray_options

    check_int("iw_samples", args.iw_samples, 1)
    check_int("shards", args.shards, 1)
    options = ray_options(args)
    if args.steps is not None:
        check_int("steps", args.steps, 0)
    if args.points is not None:
        check_int("points", args.points, 1)
    model, cfg, ds = load_run(args, "gap")
    start = time.perf_counter()
    steps = {} if args.steps is None else {"steps": args.steps}
    kwargs = dict(iw_samples=args.iw_samples, lr=args.lr, fullcov=not args.no_fullcov, ais=args.ais,
                  batch_size=args.batch_size, **steps)
    if args.shards == 1 and options is None:
        result = inference_gaps(model, eval_inputs(ds), **kwargs)
    else:
        from itertools import starmap

        from ..cluster import ray_map
        from ..metrics.shards import sharded_inference_gaps
        if options is not None:
            model = model.cpu() if options.gpus_per_trial == 0 else model     # the tasks run where Ray puts them
        result = sharded_inference_gaps(model, eval_inputs(ds), args.shards,
                                        map_fn=starmap if options is None else ray_map(options), **kwargs)
    result.pop("per_example")
    result.update(split=args.split, dataset=cfg["dataset"], seconds=round(time.perf_counter() - start, 2))
    print_report(result, args.json, width=30)
    return 0
