"""Precomputed sweeps: train (or load from the cache) one model per setting, so sliders only select."""
from __future__ import annotations

import math

import torch

from ..metrics.evaluate import eval_inputs
from ..metrics.likelihood import elbo_parts, mean_se
from ..runtime import pick_device
from .cache import load_or_train, pretrain
from .experiment import TrainConfig, config_split


def _check_betas(betas) -> list[float]:
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__iter__"):
        raise TypeError(f"betas must be a list of numbers >= 0, got {betas!r} ({type(betas).__name__})")
    betas = list(betas)
    if not betas:
        raise ValueError("betas=[] is empty; pass at least one KL weight >= 0, e.g. betas=[0.1, 1.0, 4.0]")
    out = []
    for b in betas:
        if isinstance(b, bool) or not isinstance(b, (int, float)):
            raise TypeError(f"betas must hold numbers >= 0, got {b!r} ({type(b).__name__}) in betas={betas!r}")
        if not math.isfinite(b) or b < 0:
            raise ValueError(f"betas must hold finite numbers >= 0 (the KL weight), got {b!r} in betas={betas!r}")
        out.append(float(b))
    if len(set(out)) != len(out):
        raise ValueError(f"betas={betas!r} repeats a value; each beta must appear once")
    return out


def beta_sweep(betas, base: TrainConfig | dict, device=None, progress=None, eval_seed: int = 0,
               ray=None) -> list[dict]:
    """One beta-VAE per beta, trained with `base`'s settings (objective forced to 'beta') via load_or_train.

    Returns one dict per beta, in the order given, with keys
      beta, config (the TrainConfig used), model (eval mode), history,
      rate (mean KL(q(z|x) || p(z)) on the test split, nats),
      distortion (mean -log p(x|z), z ~ q(z|x), on the test split, nats),
      elbo (-(rate + distortion), nats),
      and rate_se, distortion_se, elbo_se: their standard errors over the test examples.
    The cache makes a second call cheap: nothing is retrained when every entry is already there.
    The test-split numbers use one z sample per example drawn with `eval_seed`. torch's global RNG is
    left as it was (python's and numpy's are reseeded by training, as in train()).
    ray: a vaelab.cluster.RayOptions to train the betas' models as Ray tasks first (the same results).
    """
    betas = _check_betas(betas)
    if isinstance(base, dict):
        base = TrainConfig.from_dict(base)
    if not isinstance(base, TrainConfig):
        raise TypeError(f"base must be a TrainConfig or a dict of its fields, got {type(base).__name__}")
    if base.objective not in ("elbo", "beta"):
        raise ValueError(f"base.objective={base.objective!r} cannot be swept over beta; use 'elbo' or 'beta'")
    pretrain([base.variant(objective="beta", beta=beta) for beta in betas], ray, device)
    dev = pick_device(device)
    test = config_split(base, "test")
    x = eval_inputs(test, seed=eval_seed).to(dev)
    results = []
    for beta in betas:
        cfg = base.variant(objective="beta", beta=beta)
        # Building, training and scoring a model all draw from torch's global RNG; fork it so that a
        # sweep (cached or not) leaves the caller's random stream where it was.
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            model, history = load_or_train(cfg, device=dev, progress=progress)
            model.eval()
            parts = elbo_parts(model, x, generator=torch.Generator(dev).manual_seed(eval_seed))
        (rate, rate_se), (distortion, distortion_se) = mean_se(parts["kl"]), mean_se(parts["rec"])
        _, elbo_se = mean_se(parts["kl"] + parts["rec"])
        results.append({"beta": beta, "config": cfg, "model": model, "history": history, "rate": rate,
                        "rate_se": rate_se, "distortion": distortion, "distortion_se": distortion_se,
                        "elbo": -(rate + distortion), "elbo_se": elbo_se})
    return results
