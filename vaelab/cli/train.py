"""`python -m vaelab train`: train one model, write DIR/checkpoint.pt and DIR/history.json.

Ctrl-C (exit 130) or a non-finite loss (exit 1) still saves the last good weights, marked interrupted: true with
a stop_reason in the checkpoint and in history.json; the message says where."""
from __future__ import annotations

import sys
from pathlib import Path

QUICK_TRAIN_SIZE, QUICK_MAX_EPOCHS = 1000, 3


def add_parser(sub) -> None:
    from ..data import dataset_names
    from ..models import MODELS
    from ..train.objectives import OBJECTIVES

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
    t.add_argument("--alpha", type=float, default=0.0,
                   help="--objective infovae: loss = rec + (1-alpha) KL + (alpha+lambda-1) MMD(q(z), p(z))")
    t.add_argument("--lambda", dest="lam", type=float, default=1.0,
                   help="--objective infovae: lambda; alpha + lambda - 1 must be >= 0")
    t.add_argument("--kernel", choices=["imq", "rbf"], default="imq", help="--objective infovae: the MMD kernel")
    t.add_argument("--free-bits", type=float, default=0.0,
                   help="--objective freebits: per-dimension KL floor in nats (Kingma et al. 2016)")
    t.add_argument("--kl-cycles", type=int, default=0,
                   help="cyclical KL annealing with this many cycles (Fu et al. 2019); replaces --kl-warmup")
    t.add_argument("--word-dropout", type=float, default=0.0,
                   help="--model lstm: probability of replacing each decoder input token by <unk>")
    t.add_argument("--layers", type=int, default=3, help="--model pixelcnn: masked-conv layers (decoder strength)")
    t.add_argument("--conditioning", choices=["spatial", "global"], default="spatial",
                   help="--model pixelcnn: z as a per-pixel map plus biases, or biases only")
    t.add_argument("--diagnostics", action="store_true",
                   help="per-epoch KL per dim, MI, active units (and per-token NLL, ppl for text) in history.json")
    t.add_argument("--svi-steps", type=int, default=10,
                   help="--objective svi|vae+svi|vae+svi+kl|savae: SVI refinement steps K (Kim et al. 2018)")
    t.add_argument("--svi-lr", type=float, default=1.0, help="SVI step size (per example)")
    t.add_argument("--svi-momentum", type=float, default=0.5, help="SVI momentum in [0, 1)")
    t.add_argument("--svi-clip", type=float, default=5.0, help="per-example gradient-norm clip of SVI steps (0: off)")
    t.add_argument("--hvp", default="exact", choices=["exact", "fd"], help="--objective savae backward: exact (autograd) or fd (finite "
                   "differences, Algorithm 1)")
    t.add_argument("--langevin-steps", type=int, default=20,
                   help="--objective sri: short-run Langevin steps per example (Pang et al. 2021)")
    t.add_argument("--langevin-step-start", type=float, default=0.8, help="--objective sri: first step size")
    t.add_argument("--langevin-step-end", type=float, default=0.05,
                   help="--objective sri: last step size (linear in between)")
    t.add_argument("--langevin-temperature", type=float, default=0.2,
                   help="--objective sri: T multiplying the chain's noise (1: the exact posterior's chain)")
    t.add_argument("--prior", choices=["gaussian", "ebm"], default="gaussian",
                   help="N(0, I), or a latent EBM prior (Pang et al. 2020; with --objective sri)")
    t.add_argument("--prior-hidden", type=int, nargs="+", default=[200, 200], help="--prior ebm: widths of f_a")
    t.add_argument("--prior-steps", type=int, default=60, help="--prior ebm: Langevin steps of its sampler")
    t.add_argument("--prior-step-size", type=float, default=0.4, help="--prior ebm: step size of its sampler")
    t.add_argument("--binarize", choices=["static", "dynamic"], default=None)
    t.add_argument("--train-size", type=int, default=None, help="train on a seeded subset of this many examples")
    t.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    t.add_argument("--quick", action="store_true",
                   help=f"at most {QUICK_TRAIN_SIZE} training examples and {QUICK_MAX_EPOCHS} epochs")
    t.add_argument("--allow-unverified-download", action="store_true",
                   help="download a text corpus that has no published digest (yahoo) without verifying it; datasets "
                        "with a pinned digest (short_yelp, ptb, MNIST) are always verified and ignore this flag")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--out", required=True, help="output directory")
    t.set_defaults(func=run)


def _prepare_unverified(dataset: str) -> None:
    """Download (or find cached) a text corpus, accepting one that no digest pins; a no-op for other datasets."""
    from ..data.corpora import CORPORA, corpus_files
    from ..runtime import data_dir

    if dataset in CORPORA:
        corpus_files(dataset, data_dir(), allow_unverified=True)


def run(args) -> int:
    from ..train import NonFiniteLossError, TrainConfig, save_checkpoint, train, write_json
    from ._run import check_out_dir

    out = check_out_dir(args.out)                       # before any work: a bad --out must not cost a training
    cfg = TrainConfig(dataset=args.dataset, model=args.model, objective=args.objective, latent_dim=args.latent_dim,
                      hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      beta=args.beta, iw_samples=args.iw_samples, kl_warmup=args.kl_warmup, binarize=args.binarize,
                      train_size=args.train_size, alpha=args.alpha, lam=args.lam, kernel=args.kernel,
                      free_bits=args.free_bits, kl_cycles=args.kl_cycles, word_dropout=args.word_dropout,
                      layers=args.layers, conditioning=args.conditioning, diagnostics=args.diagnostics,
                      svi_steps=args.svi_steps, svi_lr=args.svi_lr, svi_momentum=args.svi_momentum,
                      svi_clip=args.svi_clip or None, hvp=args.hvp, langevin_steps=args.langevin_steps,
                      langevin_step_start=args.langevin_step_start, langevin_step_end=args.langevin_step_end,
                      langevin_temperature=args.langevin_temperature, prior=args.prior, prior_hidden=args.prior_hidden,
                      prior_steps=args.prior_steps, prior_step_size=args.prior_step_size)
    if args.quick:
        cfg.train_size = min(cfg.train_size or QUICK_TRAIN_SIZE, QUICK_TRAIN_SIZE)
        cfg.epochs = min(cfg.epochs, QUICK_MAX_EPOCHS)
    if args.allow_unverified_download:
        _prepare_unverified(args.dataset)
    stopped, ctrl_c = None, False
    try:
        model, history = train(cfg, device=args.device, progress=not args.no_progress)
        if history.interrupted:
            stopped, ctrl_c = "interrupted by Ctrl-C", True
    except NonFiniteLossError as err:
        model, history, stopped = err.model, err.history, f"non-finite loss: {err}"
    ckpt = save_checkpoint(out / "checkpoint.pt", model, train_config=cfg.to_dict(), history=history,
                           interrupted=stopped is not None, stop_reason=stopped)
    write_json(out / "history.json", {"config": cfg.to_dict(), "interrupted": stopped is not None,
                                      "stop_reason": stopped, "epochs": list(history)})
    last = history[-1] if history else {}
    done = f"{len(history)} of {cfg.epochs} epochs; last loss {last.get('loss', float('nan')):.3f}"
    if stopped is None:
        print(f"wrote {ckpt} ({done})", file=sys.stderr)
        return 0
    print(f"vaelab train: {stopped.splitlines()[0]} -- saved the last good weights to {ckpt} ({done}), marked "
          "interrupted: true in the checkpoint and history.json", file=sys.stderr)
    return 130 if ctrl_c else 1
