"""ELBO, beta-ELBO and the importance-weighted bound, as functions of a model and a batch.

Every objective returns (loss, stats): loss is a scalar to minimise (nats, mean over the batch);
stats holds detached 0-dim tensors (no host sync): rec = E_q[-log p(x|z)] and kl = KL(q(z|x) || p(z)),
both positive nats averaged over the batch, plus whatever else the objective reports. The training loop
records the KL weight it passed in, so objectives need not report it.
"""
from __future__ import annotations

import math

import torch

from ..checks import check_float, check_int
from ..models.distributions import standard_normal_log_prob


def elbo_terms(model, x: torch.Tensor) -> dict:
    """One reparameterized sample per example: rec (B,) = -log p(x|z), kl_dim (B, d) analytic, q, z."""
    q = model.encode(x)
    z = q.rsample()
    rec = -model.decode(z).log_prob(x)
    return {"q": q, "z": z, "rec": rec, "kl_dim": q.kl_standard_per_dim()}


def elbo_loss(model, x: torch.Tensor, beta: float = 1.0, kl_weight: float = 1.0):
    """-(E_q log p(x|z) - beta * kl_weight * KL); beta=1, kl_weight=1 is the negative ELBO."""
    t = elbo_terms(model, x)
    rec, kl = t["rec"].mean(), t["kl_dim"].sum(-1).mean()
    loss = rec + (beta * kl_weight) * kl
    rec, kl = rec.detach(), kl.detach()
    return loss, {"loss": loss.detach(), "rec": rec, "kl": kl, "elbo": -(rec + kl)}


def decoder_only_loss(model, x: torch.Tensor, kl_weight: float = 1.0):
    """-log p(x | z = 0): the decoder alone, trained as a plain autoregressive model that never sees a code.

    With z fixed at 0 the code's pathways into the decoder reduce to constant biases, so an LSTM decoder is an
    LSTM language model (and a PixelCNN a PixelCNN) of the same size, trained alike: the baseline whose
    likelihood a VAE with that decoder must match. Its -log p(x) is exact, so elbo = log p(x) and kl = 0."""
    z = torch.zeros(x.shape[0], model.latent_dim, device=x.device)
    loss = -model.decode(z).log_prob(x).mean()
    rec = loss.detach()
    return loss, {"loss": rec, "rec": rec, "kl": torch.zeros_like(rec), "elbo": -rec}


def log_importance_weights(model, x: torch.Tensor, k: int, kl_weight: float = 1.0,
                           generator: torch.Generator | None = None):
    """log w_k = log p(x|z_k) + w * (log p(z_k) - log q(z_k|x)), z_k ~ q(z|x): returns (log_w (K, B), rec (K, B), kl (K, B)).

    rec and kl are the single-sample ELBO parts (-log p(x|z_k) and log q - log p), so that
    mean(-rec - kl) is the ELBO estimated with K samples. generator: a torch.Generator on the model's
    device for the draws (None: torch's global generator).
    """
    check_int("k", k, 1)
    q = model.encode(x)
    z = q.rsample(k, generator=generator)                   # (K, B, d)
    log_px_z = model.decode(z).log_prob(x)                  # (K, B)
    log_ratio = q.log_prob(z) - standard_normal_log_prob(z)  # (K, B): sample-based KL
    return log_px_z - kl_weight * log_ratio, -log_px_z, log_ratio


def iwae_loss(model, x: torch.Tensor, k: int, kl_weight: float = 1.0):
    """-L_K with L_K = log (1/K) sum_k w_k (Burda et al. 2016); k=1 is the (sample-KL) ELBO."""
    log_w, rec, kl = log_importance_weights(model, x, k, kl_weight)
    bound = torch.logsumexp(log_w, 0) - math.log(k)
    loss = -bound.mean()
    return loss, {"loss": loss.detach(), "rec": rec.mean().detach(), "kl": kl.mean().detach(),
                  "iw_bound": bound.mean().detach(), "elbo": -(rec + kl).mean().detach()}


def kl_warmup(step: int, warmup_steps: int, start: float = 0.0) -> float:
    """Linear KL weight from `start` at step 0 to 1 at `warmup_steps` (then 1). warmup_steps=0: always 1."""
    check_int("warmup_steps", warmup_steps, 0)
    check_float("start", start, 0.0, maximum=1.0)
    if warmup_steps == 0 or step >= warmup_steps:
        return 1.0
    return start + (1.0 - start) * step / warmup_steps
