"""One row per model for comparing amortized (VAE, SA-VAE) and encoder-free (SRI) inference (notebook 07).

Each row holds the same collapse diagnostics, computed from the best posterior each model has:
- VAE and SA-VAE: q_K, the encoder's q refined by K SVI steps (as SA-VAE is scored, metrics.savae_report):
  -log p(x) by importance sampling, KL(q_K || p), the mutual information, active units and a probe on q_K's means.
- SRI: E[z|x] from MALA chains (metrics.encoder_free): -log p(x) by importance sampling from a Gaussian fitted to
  the chains; no KL or MI (no q(z|x) with a density); active units and a probe on the chains' means.
Active units from chains subtract the chain mean's own Monte Carlo noise (metrics.encoder_free.chain_active_units).

A cross-check of those importance-sampling estimates (is_against_ais): annealed importance sampling from the prior
(vaelab.inference.ais: f_t(z) = p(z) p(x|z)^beta_t, HMC moves) estimates log p(x) with no proposal at all, so it
cannot share the proposal's looseness. Both estimates are stochastic lower bounds on log p(x) (upper bounds on
-log p(x) in expectation); their paired per-sentence difference IS - AIS, in nats of -log p(x), is > 0 where the
importance sampler is the looser of the two, < 0 where AIS is (too few annealing steps).
"""
from __future__ import annotations

import math

import torch

from ..checks import check_int
from ..inference.ais import ais_log_px
from ..inference.families import defensive_proposal
from .encoder_free import chain_posteriors, encoder_free_report, langevin_is_log_px, log_partition_of
from .latent import probe_stats
from .likelihood import iw_log_px, mean_se
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


def amortized_log_px(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                     clip: float | None = 5.0, iw_samples: int = 50, seed: int = 0) -> torch.Tensor:
    """Per-example log p(x), (N,) nats, as amortized_row's iw_nll scores it: importance sampling from the defensive
    mixture around q_K (metrics.savae.savae_report)."""
    x = x.to(model.device)
    _, qk = refined_posteriors(model, x, steps=steps, lr=lr, momentum=momentum, clip=clip, seed=seed)
    with torch.no_grad():
        return iw_log_px(model, x, iw_samples, proposal=defensive_proposal(qk), seed=seed)


def encoder_free_log_px(model, x: torch.Tensor, *, iw_samples: int = 50, chains: int = 8, steps: int = 100,
                        step_size: float = 0.1, seed: int = 0) -> torch.Tensor:
    """Per-example log p(x), (N,) nats, as encoder_free_row's iw_nll scores it: importance sampling from a Gaussian
    fitted to `chains` MALA chains of `steps` steps (metrics.encoder_free)."""
    x = x.to(model.device)
    chained = chain_posteriors(model, x, chains=chains, steps=steps, step_size=step_size, seed=seed)
    log_z, _ = log_partition_of(model, seed=seed)
    return langevin_is_log_px(model, x, chained, iw_samples=iw_samples, seed=seed + 1, log_z=log_z)


class LatentIgnored(torch.nn.Module):
    """A decoder-only model (objective 'lm', trained at z = 0) as the latent-variable model it defines:
    p(x|z) = p(x|z = 0) for every z, so p(x) = p(x|0) exactly. The network itself does not ignore z (its z weights
    were never trained and are random), so AIS on it would score another model."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.latent_dim = model.latent_dim

    @property
    def device(self) -> torch.device:
        return self.model.device

    def decode(self, z: torch.Tensor):
        return self.model.decode(z * 0.0)        # not zeros_like: AIS differentiates log p(x|z) in z (gradient 0)


def is_against_ais(model, x: torch.Tensor, is_log_px: torch.Tensor, *, n_chains: int, n_steps: int, leapfrog: int,
                   seed: int = 0, latent_ignored: bool = False) -> dict:
    """AIS from the prior (vaelab.inference.ais.ais_log_px: n_chains chains, n_steps annealing steps, HMC with
    `leapfrog` steps) on the sentences x (N >= 2), against an estimate is_log_px (N,) of log p(x) on the same x.
    Floats in nats per sentence, each mean with its SE over the sentences under `<key>_se`: ais_nll (-log p(x) by
    AIS), ais_iw_nll (-is_log_px), iw_minus_ais (the paired difference ais_log_px - is_log_px: > 0 where the
    importance sampler is the looser lower bound on log p(x)); and ais_sentences. latent_ignored: score a
    decoder-only model through LatentIgnored (then AIS must return the exact log p(x|0))."""
    n = check_int("number of sentences x.shape[0]", int(x.shape[0]), 2)
    if tuple(is_log_px.shape) != (n,):
        raise ValueError(f"is_log_px must have shape ({n},) (one value per sentence of x), got "
                         f"{tuple(is_log_px.shape)}")
    target = LatentIgnored(model) if latent_ignored else model
    ais = ais_log_px(target, x.to(model.device), n_chains=n_chains, n_steps=n_steps, leapfrog=leapfrog, seed=seed)
    is_lp = is_log_px.detach().to(ais.device, torch.float64)
    out = {"ais_sentences": n}
    for key, per in (("ais_nll", -ais.double()), ("ais_iw_nll", -is_lp), ("iw_minus_ais", ais.double() - is_lp)):
        out[key], out[f"{key}_se"] = mean_se(per)
    return out


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
