"""The InfoVAE family (Zhao, Song & Ermon, AAAI 2019) with D = MMD.

Loss per batch (nats, mean over the batch), to minimise:
    E[-log p(x|z)] + (1-α)·KL(q(z|x) ‖ p(z)) + (α+λ-1)·MMD²(q(z), p(z))
- α: how much the model prefers mutual information I_q(x; z) (α=1 removes the per-example KL that
  pushes every q(z|x) onto the prior and so squeezes information out of z);
- λ: the weight of the divergence between the aggregate posterior q(z) = E_x q(z|x) and the prior.
MMD² is estimated between the posterior samples z_i ~ q(z|x_i) of the batch and as many prior samples
drawn fresh for every batch. Special cases: α=0, λ=1 is the ELBO; α=1-β, λ=β the β-VAE; α=1 the
MMD-VAE (no KL term, weight λ on MMD).
"""
from __future__ import annotations

import torch

from ..checks import check_choice, check_float
from .elbo import elbo_terms
from .mmd import KERNELS, mmd_estimate

ROUND_OFF = 1e-12   # α+λ-1 within this of 0 counts as 0 (so 1-β and β, added in floating point, give 0)


def mmd_weight(alpha: float, lam: float) -> float:
    """α+λ-1, the weight of MMD²(q(z), p(z)) in the loss; a ValueError explains why it must be >= 0."""
    alpha = check_float("alpha", alpha, float("-inf"))
    lam = check_float("lambda", lam, 0.0)
    w = alpha + lam - 1.0
    if abs(w) < ROUND_OFF:
        return 0.0
    if w < 0:
        raise ValueError(
            f"alpha + lambda - 1 = {alpha!r} + {lam!r} - 1 = {w:.6g} < 0: that is the weight of MMD(q(z), p(z)) "
            "in the loss, and a negative weight makes training MAXIMISE the mismatch between the aggregate "
            "posterior and the prior, pushing codes away from where samples are drawn. Choose alpha + lambda >= 1, "
            "e.g. alpha=1, lambda=1000 (MMD-VAE) or alpha=0, lambda=1 (the ELBO).")
    return w


def infovae_loss(model, x: torch.Tensor, alpha: float = 0.0, lam: float = 1.0, kernel: str = "imq",
                 kl_weight: float = 1.0, unbiased: bool = True, bandwidth="median"):
    """(loss, stats) for a batch x, the same contract as elbo_loss.

    kl_weight (a warm-up schedule) multiplies the KL term only: the loss is
    rec + (1-α)·kl_weight·KL + (α+λ-1)·MMD². stats (detached 0-dim tensors, means over the batch): loss,
    rec, kl, elbo (the plain ELBO, for comparison), mmd (the MMD² estimate; a kernel value, not nats)
    and mmd_weight (α+λ-1).
    """
    w = mmd_weight(alpha, lam)
    check_choice("kernel", kernel, KERNELS)
    t = elbo_terms(model, x)
    z = t["z"]
    prior = torch.randn_like(z)            # fresh draws from p(z) = N(0, I) for every batch
    d = mmd_estimate(z, prior, kernel, unbiased=unbiased, bandwidth=bandwidth)   # no host read per step
    rec, kl = t["rec"].mean(), t["kl_dim"].sum(-1).mean()
    loss = rec + ((1.0 - alpha) * kl_weight) * kl
    if w != 0.0:
        loss = loss + w * d
    rec, kl = rec.detach(), kl.detach()
    return loss, {"loss": loss.detach(), "rec": rec, "kl": kl, "elbo": -(rec + kl), "mmd": d.detach(),
                  "mmd_weight": torch.tensor(w)}
