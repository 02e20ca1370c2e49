"""`python -m vaelab table NAME`: one of the papers' tables, trained (or loaded) and scored headless over seeds."""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    from ..zoo.tables import PROFILES, TABLES
    from ._run import add_ray_arguments

    t = sub.add_parser("table", help="reproduce a paper's table over several seeds (mean ± SE across seeds)")
    t.add_argument("name", choices=tuple(TABLES), help="remedies: posterior collapse on text and its remedies, beside "
                   "a language model; gaps: approximation and amortization gaps for three encoder sizes; infovae: the ELBO against the MMD-VAE with a PixelCNN decoder (quick profile only); savae: the five "
                   "SA-VAE training modes on text, beside a language model; inference: the VAE, SA-VAE and short-run "
                   "inference (SRI, no encoder) on that text VAE, beside a language model")
    t.add_argument("--profile", default="quick", choices=PROFILES,
                   help="quick: offline data (synthetic text, 8x8 digits), seconds per model; lecture: short Yelp and "
                        "binarized MNIST sized for a CPU, minutes per model (the data: VAELAB_DATA_DIR, else a "
                        "download); paper: larger models and whole test sets, for a GPU")
    t.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    t.add_argument("--rows", nargs="+", metavar="ROW", help="only these rows (default all; the language model 'lm' "
                   "is always in remedies, savae and inference): remedies none kl_warmup cyclical beta freebits word_dropout; "
                   "gaps encoder=32 main encoder=512x512; infovae elbo-mlp elbo-pixelcnn mmd-pixelcnn "
                   "elbo-pixelcnn-biases mmd-pixelcnn-biases; savae elbo svi vae+svi vae+svi+kl savae; inference elbo savae sri")
    t.add_argument("--ais-sentences", type=int, default=0, metavar="N",
                   help="inference only: also estimate every model's -log p(x) by AIS on N of the test sentences (the "
                        "same for every row and seed; default 0 = off) and report the paired difference of its "
                        "importance-sampling NLL to that. AIS here anneals from the prior N(0, I) to p(z|x) through "
                        "p(z) p(x|z)^beta on a sigmoid schedule, one HMC move per temperature (quick: 8 chains x 200 "
                        "temperatures x 5 leapfrog steps): a stochastic lower bound on log p(x), so an upper bound on "
                        "the NLL in expectation, that needs no proposal (slow: minutes per model)")
    t.add_argument("--ais-steps", type=int, default=None, metavar="T",
                   help="inference with --ais-sentences: T annealing temperatures instead of the profile's (e.g. "
                        "twice as many, to check that the AIS estimate has converged)")
    t.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    out = t.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the whole record as one JSON object")
    out.add_argument("--markdown", action="store_true", help="print a markdown table (the default)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars while training")
    add_ray_arguments(t, "model (one row, one seed)")
    t.set_defaults(func=run)


def run(args) -> int:
    from ..checks import check_int
    from ..zoo.tables import build_table, to_json, to_markdown
    from ._run import ray_options

    check_int("seeds", args.seeds, 1)
    options = {}
    if args.ais_sentences or args.ais_steps is not None:
        if args.name != "inference":
            raise ValueError(f"--ais-sentences/--ais-steps are options of table 'inference' only, got table "
                             f"{args.name!r}; accepted: `vaelab table inference --ais-sentences N`")
        options = {"ais_sentences": args.ais_sentences, "ais_steps": args.ais_steps}
    record = build_table(args.name, args.profile, args.seeds, device=args.device,
                         progress=False if args.no_progress else None,
                         log=lambda line: print(line, file=sys.stderr), rows=args.rows,
                         ray=ray_options(args, progress=False if args.no_progress else None), **options)
    print(to_json(record) if args.json else to_markdown(record))
    return 0
