"""Precomputed InfoVAE comparisons: train (or load from the cache) one model per setting, then score it.

Each result carries the model and the standard `evaluate()` report on the test split (rec, kl, mi,
active_units, mmd_prior, elbo, iw_nll), so notebooks and widgets only select and draw.
"""
from __future__ import annotations

import math

import torch

from ..metrics.evaluate import evaluate
from ..objectives.infovae import mmd_weight
from ..runtime import pick_device
from .cache import load_or_train, pretrain
from .experiment import TrainConfig, config_split


def _as_config(cfg) -> TrainConfig:
    if isinstance(cfg, dict):
        return TrainConfig.from_dict(cfg)
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"expected a TrainConfig or a dict of its fields, got {type(cfg).__name__}")
    return cfg


def scored_model(cfg: TrainConfig | dict, device=None, progress=None, eval_seed: int = 0, iw_samples: int = 1,
                 split: str = "test") -> dict:
    """load_or_train(cfg), then evaluate() on `split`: {'config', 'model', 'history', **report}.

    iw_samples: K of the importance-sampled -log p(x) in the report (1 = the ELBO; raise it for iw_nll).
    torch's global RNG is left where it was (training and scoring run on a forked stream).
    """
    cfg = _as_config(cfg)
    dev = pick_device(device)
    ds = config_split(cfg, split)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        model, history = load_or_train(cfg, device=dev, progress=progress)
        model.eval()
        report = evaluate(model, ds, iw_samples=iw_samples, seed=eval_seed)
    return {"config": cfg, "model": model, "history": history, **report}


def compare_objectives(configs: dict, device=None, progress=None, eval_seed: int = 0, iw_samples: int = 1,
                       ray=None) -> dict:
    """{name: scored_model(config)} for a dict of named configs, in the order given. ray: a
    vaelab.cluster.RayOptions to train the models as Ray tasks first (the same results)."""
    if not isinstance(configs, dict) or not configs:
        raise ValueError("configs must be a non-empty dict {name: TrainConfig}, e.g. "
                         "{'ELBO': TrainConfig(...), 'MMD-VAE': TrainConfig(objective='infovae', alpha=1, lam=10)}")
    pretrain([_as_config(c) for c in configs.values()], ray, device)
    return {name: scored_model(cfg, device, progress, eval_seed, iw_samples) for name, cfg in configs.items()}


def _check_lambdas(lambdas, alpha: float) -> list[float]:
    if isinstance(lambdas, (str, bytes)) or not hasattr(lambdas, "__iter__"):
        raise TypeError(f"lambdas must be a list of numbers >= 0, got {lambdas!r}")
    lambdas = [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in lambdas]
    if not lambdas:
        raise ValueError("lambdas=[] is empty; pass at least one MMD weight, e.g. lambdas=[0, 1, 10, 100]")
    for v in lambdas:
        if not isinstance(v, float) or not math.isfinite(v) or v < 0:
            raise ValueError(f"lambdas must hold finite numbers >= 0, got {v!r} in {lambdas!r}")
        mmd_weight(alpha, v)                              # alpha + lambda - 1 >= 0, or a ValueError saying why
    if len(set(lambdas)) != len(lambdas):
        raise ValueError(f"lambdas={lambdas!r} repeats a value; each lambda must appear once")
    return lambdas


def infovae_sweep(lambdas, base: TrainConfig | dict, alpha: float = 1.0, device=None, progress=None,
                  eval_seed: int = 0, iw_samples: int = 1, ray=None) -> list[dict]:
    """One InfoVAE per lambda (objective 'infovae', the given alpha, base's other settings), cached.

    Returns one dict per lambda, in the order given: lam, alpha, config, model, history and the
    evaluate() report on the test split (rec, kl, mi, active_units, mmd_prior, elbo, ...).
    alpha=1 (default) is the MMD-VAE: lambda is then the only regulariser, and lambda=0 a plain
    (noisy-code) autoencoder.
    """
    base = _as_config(base)
    lambdas = _check_lambdas(lambdas, alpha)
    results = []
    for lam in lambdas:
        cfg = base.variant(objective="infovae", alpha=float(alpha), lam=lam)
        results.append({"lam": lam, "alpha": float(alpha), **scored_model(cfg, device, progress, eval_seed,
                                                                          iw_samples)})
    return results
