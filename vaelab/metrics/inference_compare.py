"""One row per model for comparing amortized (VAE, SA-VAE) and encoder-free (SRI) inference (notebook 07).

Each row holds the same collapse diagnostics, computed from the best posterior each model has:
- VAE and SA-VAE: q_K, the encoder's q refined by K SVI steps (as SA-VAE is scored, metrics.savae_report):
  -log p(x) by importance sampling, KL(q_K || p), the mutual information, active units and a probe on q_K's means.
- SRI: E[z|x] from MALA chains (metrics.encoder_free): -log p(x) by importance sampling from a Gaussian fitted to
  the chains; no KL or MI (no q(z|x) with a density); active units and a probe on the chains' means.
Active units from chains subtract the chain mean's own Monte Carlo noise (metrics.encoder_free.chain_active_units).
"""
from __future__ import annotations

import math

import torch

from .encoder_free import encoder_free_report
from .latent import probe_stats
from .likelihood import mean_se
from .savae import refined_posteriors, savae_report

def amortized_row(model, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                  clip: float | None = 5.0, iw_samples: int = 50, seed: int = 0) -> dict:
    """iw_nll, kl, mi (each with _se), active_units and the probe reading the labels y, from q_K (see the module
    docstring). x: test examples (N, *data_shape); y: their labels (N,)."""
    x = x.to(model.device)
    row = savae_report(model, x, steps=steps, lr=lr, momentum=momentum, clip=clip, iw_samples=iw_samples, seed=seed)
    _, qk = refined_posteriors(model, x, steps=steps, lr=lr, momentum=momentum, clip=clip, seed=seed)
    keep = ("iw_nll", "iw_nll_se", "kl", "kl_se", "mi", "mi_se", "active_units")
    return {**{k: row[k] for k in keep}, **probe_stats(qk.mu.detach().cpu(), y, seed)}


def encoder_free_row(model, x: torch.Tensor, y: torch.Tensor, *, iw_samples: int = 50, chains: int = 8,
                     steps: int = 100, step_size: float = 0.1, seed: int = 0) -> dict:
    """encoder_free_report's iw_nll (+ _se), log_z (+ _se), active_units (noise-corrected), accept_rate, and the
    probe on the chains' E[z|x]. kl and mi are NaN: not defined without a q(z|x)."""
    report = encoder_free_report(model, x.to(model.device), iw_samples=iw_samples, chains=chains, steps=steps,
                                 step_size=step_size, seed=seed)
    keep = ("iw_nll", "iw_nll_se", "active_units", "log_z", "log_z_se", "accept_rate")
    return {**{k: report[k] for k in keep}, "kl": math.nan, "kl_se": math.nan, "mi": math.nan, "mi_se": math.nan,
            **probe_stats(report["posterior_means"].cpu(), y, seed)}


def over_seeds(rows: list[dict], keys=("iw_nll", "kl", "mi", "active_units", "probe_acc")) -> dict:
    """Mean and standard error over training seeds (one row per seed, >= 2) of each key: {key: m, key_se: s}.
    NaN stays NaN (a quantity the model does not define)."""
    if len(rows) < 2:
        raise ValueError(f"rows must hold one row per seed, at least 2, got {len(rows)}")
    out = {"seeds": len(rows)}
    for k in keys:
        v = torch.tensor([float(r[k]) for r in rows], dtype=torch.float64)
        out[k], out[f"{k}_se"] = (math.nan, math.nan) if torch.isnan(v).any() else mean_se(v)
    return out
