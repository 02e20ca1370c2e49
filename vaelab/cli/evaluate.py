"""`python -m vaelab eval DIR`: the standard metrics of a trained model on one split."""
from __future__ import annotations


def add_parser(sub) -> None:
    e = sub.add_parser("eval", help="evaluate DIR/checkpoint.pt on a split")
    e.add_argument("dir")
    e.add_argument("--split", default="test", choices=["train", "valid", "test"])
    e.add_argument("--iw-samples", type=int, default=1000, help="K for the importance-sampled -log p(x)")
    e.add_argument("--batch-size", type=int, default=500)
    e.add_argument("--points", type=int, default=None, help="evaluate a seeded subset of this many examples (>= 1)")
    e.add_argument("--device", default="auto")
    e.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"],
                   help="arithmetic of the -log p(x) estimate: bf16 autocast moves it by < 0.05 nats and is faster only "
                        "where the hardware has native bf16 (`vaelab check` says; 1.0-2.2x on an AMD EPYC with "
                        "avx512_bf16, one thread; slower, and warned about, without it; measure with "
                        "benchmarks/bench_iwnll.py)")
    e.add_argument("--chains", type=int, default=8,
                   help="--objective sri / --prior ebm runs: MALA chains per example that fit the IS proposal")
    e.add_argument("--chain-steps", type=int, default=200, help="steps of those chains")
    e.add_argument("--json", action="store_true",
                   help="one JSON object: elbo, iw_nll (positive nats), rec, kl, mi, active_units, n, ...; "
                        "an SA-VAE run adds elbo_refined (the ELBO after its SVI steps), elbo_refined_gain, svi_steps")
    e.set_defaults(func=run)


def run(args) -> int:
    from ..inference.savae_modes import SAVAE_MODES
    from ..metrics import evaluate
    from ._run import check_counts, load_run, print_report

    check_counts(args, iw_samples=1, batch_size=1, points=1, chains=2, chain_steps=1)
    model, cfg, ds = load_run(args, "eval")
    if cfg.get("objective") == "sri" or model.prior is not None:
        # no encoder was trained: -log p(x) from a proposal fitted to Langevin chains (vaelab.metrics.encoder_free)
        from ..metrics.encoder_free import encoder_free_report
        from ..metrics.evaluate import eval_inputs
        result = encoder_free_report(model, eval_inputs(ds).to(model.device), iw_samples=args.iw_samples,
                                     chains=args.chains, steps=args.chain_steps)
        result.pop("posterior_means")
        result.update(split=args.split, dataset=cfg["dataset"])
        print_report(result, args.json)
        return 0
    if cfg.get("objective") == "lm":
        # the decoder alone at z = 0: its -log p(x) is exact (no encoder, no sampling)
        from ..metrics.evaluate import decoder_only_report
        result = decoder_only_report(model, ds, batch_size=args.batch_size)
        result.update(split=args.split, dataset=cfg["dataset"])
        print_report(result, args.json)
        return 0
    result = evaluate(model, ds, iw_samples=args.iw_samples, batch_size=args.batch_size,
                      precision=args.precision)
    if cfg.get("objective") in SAVAE_MODES:
        # an SA-VAE run was trained for the ELBO after its K SVI steps: report it beside the encoder's
        from ..metrics.evaluate import eval_inputs
        from ..metrics.savae import refined_elbo_report
        result.update(refined_elbo_report(model, eval_inputs(ds), cfg, batch_size=args.batch_size))
    result.update(split=args.split, dataset=cfg["dataset"])
    print_report(result, args.json)
    return 0
