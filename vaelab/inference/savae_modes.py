"""The training objectives of Kim et al. (2018), Table 1, with the (model, x, kl_weight) -> (loss, stats) contract.

    'svi'         λ_0 = prior (μ = 0, log σ² = 0), K SVI steps, decoder trained on ELBO(λ_K); no encoder.
    'vae+svi'     λ_0 = enc(x); decoder trained on ELBO(λ_K) with λ_K detached; the encoder on its own
                  ELBO(λ_0) (its gradient only: that term does not train the decoder).
    'vae+svi+kl'  as 'vae+svi', but the encoder is trained toward the refined q: KL(q_K ‖ q_0), q_K detached.
    'savae'       end to end: ELBO(λ_K) backpropagated through the K steps to the decoder and the encoder.
The plain VAE is 'elbo'. With K = 0, 'savae' is the VAE exactly (same noise draw, same operations).
The refinement differentiates the *sum* of per-example losses (each example takes its own step; see
vaelab.inference.savae); the returned loss is the batch mean, like every other objective.
stats: loss, rec, kl, elbo at λ_K (nats, batch mean), elbo0 = ELBO at λ_0 (same noise), and for
'vae+svi+kl' kl_qk_q0.
Random draws: ε (B, d) for the final ELBO, then the SVI noise (K, B, d), in that order, from `generator` when
one is given (torch's global random state is then untouched), else from the global generator (what fit()
uses, seeded by its `seed`). The decoder's own randomness (word dropout in training mode) stays global.

These losses live in the inference layer because they run the refinement (vaelab.inference.savae);
vaelab.train.objectives puts them beside the plain objectives of vaelab.objectives for fit() and the CLI.
"""
from __future__ import annotations

from functools import partial

import torch

from ..checks import check_choice
from ..objectives.objective import Objective, ObjectiveKind, Param
from .savae import check_refine_args, neg_elbo_parts, refine_lambda

SAVAE_MODES = ("svi", "vae+svi", "vae+svi+kl", "savae")


def kl_diag(mu_q, lv_q, mu_p, lv_p):
    """KL(N(mu_q, e^lv_q) ‖ N(mu_p, e^lv_p)) per example, (B,) nats."""
    return 0.5 * (lv_p - lv_q + (torch.exp(lv_q) + (mu_q - mu_p) ** 2) / torch.exp(lv_p) - 1).sum(-1)


def _encoder_only(model, x, mu0, lv0, eps, kl_weight):
    """A surrogate whose gradient is ∂ mean_i f_i(λ_0)/∂φ, with zero gradient for the decoder."""
    leaves = mu0.detach().requires_grad_(True), lv0.detach().requires_grad_(True)
    with torch.enable_grad():
        rec, kl = neg_elbo_parts(model, x, *leaves, eps)
        gm, gl = torch.autograd.grad((rec + kl_weight * kl).mean(), leaves)
    return (mu0 * gm).sum() + (lv0 * gl).sum()


def _randn(shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normals of `shape` with like's dtype and device, drawn from `generator` (on its own device,
    so a CPU generator reproduces the same numbers for a CUDA model) or else from the global generator."""
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)


def savae_loss(model, x: torch.Tensor, kl_weight: float = 1.0, *, mode: str = "savae", svi_steps: int = 10,
               svi_lr: float = 1.0, svi_momentum: float = 0.5, svi_clip: float | None = 5.0, hvp: str = "exact",
               generator: torch.Generator | None = None):
    """Negative ELBO at the refined λ_K (batch mean, nats) plus the mode's encoder term: (loss, stats).

    x (B, *data_shape). generator: a torch.Generator for the draws (ε, then the (K, B, d) SVI noise), so that
    the same seed gives bit-identical loss and gradients whatever else used torch's global RNG; None draws
    from the global generator. See the module docstring for the modes and stats."""
    if mode not in SAVAE_MODES:
        raise ValueError(f"mode={mode!r} is not one of the accepted choices: {', '.join(map(repr, SAVAE_MODES))}")
    check_refine_args(svi_steps, svi_lr, svi_momentum, svi_clip, hvp)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if mode == "svi":
        mu0 = torch.zeros(x.shape[0], model.latent_dim, device=x.device, dtype=next(model.parameters()).dtype)
        lv0 = torch.zeros_like(mu0)
    else:
        q0 = model.encode(x)
        mu0, lv0 = q0.mu, q0.logvar
    eps = _randn(mu0.shape, mu0, generator)                                 # the draw elbo_loss makes
    noise = _randn((svi_steps, *mu0.shape), mu0, generator) if svi_steps else None
    opts = {"steps": svi_steps, "lr": svi_lr, "momentum": svi_momentum, "clip": svi_clip, "hvp": hvp,
            "kl_weight": kl_weight, "noise": noise}
    if mode == "savae":
        muk, lvk = refine_lambda(model, x, mu0, lv0, differentiable=True, **opts)
    else:
        muk, lvk = refine_lambda(model, x, mu0, lv0, differentiable=False, **opts)
    rec, kl = neg_elbo_parts(model, x, muk, lvk, eps)
    rec, kl = rec.mean(), kl.mean()
    loss = rec + kl_weight * kl
    stats = {}
    if mode == "vae+svi":
        sur = _encoder_only(model, x, mu0, lv0, eps, kl_weight)
        loss = loss + (sur - sur.detach())                                  # value unchanged, gradient added
    elif mode == "vae+svi+kl":
        kl_k0 = kl_diag(muk.detach(), lvk.detach(), mu0, lv0).mean()
        loss = loss + kl_k0
        stats["kl_qk_q0"] = kl_k0.detach()
    with torch.no_grad():
        r0, k0 = neg_elbo_parts(model, x, mu0.detach(), lv0.detach(), eps)
    rec, kl = rec.detach(), kl.detach()
    return loss, {"loss": loss.detach(), "rec": rec, "kl": kl, "elbo": -(rec + kl), "elbo0": -(r0.mean() + k0.mean()),
                  **stats}


def _check_svi(name, value):
    """The Param check of one SVI option, through check_refine_args' own rules (one source of truth)."""
    opts = {**SVI_DEFAULTS, name: value}
    check_refine_args(opts["svi_steps"], opts["svi_lr"], opts["svi_momentum"], opts["svi_clip"], opts["hvp"])
    return float(value) if isinstance(value, int) and name in ("svi_lr", "svi_momentum", "svi_clip") else value


SVI_PARAMS = {
    "svi_steps": Param(10, _check_svi, "SVI steps K >= 0"),
    "svi_lr": Param(1.0, _check_svi, "SVI step size η > 0 (per example)"),
    "svi_momentum": Param(0.5, _check_svi, "SVI momentum in [0, 1)"),
    "svi_clip": Param(5.0, _check_svi, "per-example gradient-norm clip > 0, or None (off)"),
    "hvp": Param("exact", _check_svi, "savae backward: 'exact' (autograd) or 'fd' (Algorithm 1)"),
}
SVI_DEFAULTS = {k: p.default for k, p in SVI_PARAMS.items()}
KINDS = {mode: ObjectiveKind(mode, SVI_PARAMS, partial(partial, savae_loss, mode=mode), trains_encoder=mode != "svi",
                             compilable=False, doc=f"Kim et al. (2018), Table 1: {mode}") for mode in SAVAE_MODES}


def make_savae_objective(name: str, **params) -> Objective:
    """The Objective of mode `name` (one of SAVAE_MODES), called as (model, x, kl_weight, generator=None) ->
    (loss, stats): K = svi_steps SVI steps of size svi_lr, momentum svi_momentum, per-example gradient-norm clip
    svi_clip (None: off) and backward backend hvp 'exact' | 'fd'."""
    return KINDS[check_choice("objective", name, SAVAE_MODES)].build(**params)
