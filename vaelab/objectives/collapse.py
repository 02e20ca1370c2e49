"""Remedies for posterior collapse that live in the objective: free bits and KL-weight schedules.

(β < 1 is the 'beta' objective; word dropout lives in the LSTM decoder; aggressive encoder training
changes the training loop and lives in vaelab.train.aggressive.)
"""
from __future__ import annotations

import math

import torch

from ..checks import check_float, check_int
from .elbo import elbo_terms, kl_warmup

REMEDIES = ("none", "kl_warmup", "cyclical", "beta", "freebits", "word_dropout", "aggressive")


def check_free_bits(free_bits) -> float:
    """A per-dimension KL floor λ >= 0 in nats."""
    if isinstance(free_bits, bool) or not isinstance(free_bits, (int, float)):
        raise TypeError(f"free_bits must be a number of nats >= 0, got {free_bits!r}")
    if not math.isfinite(free_bits) or free_bits < 0:
        raise ValueError(f"free_bits (the per-dimension KL floor) must be >= 0 nats, got {free_bits!r}")
    return float(free_bits)


def free_bits_kl(kl_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Σ_j max(λ, KL_j) with KL_j the batch mean of kl_dim (B, d) (Kingma et al. 2016): a scalar.

    Below the floor a dimension's KL costs a constant, so its gradient is zero: the encoder may put up to
    λ nats into every dimension for free, and the decoder can no longer win by ignoring z."""
    return torch.clamp(kl_dim.mean(0), min=check_free_bits(free_bits)).sum()


def free_bits_loss(model, x: torch.Tensor, free_bits: float, kl_weight: float = 1.0):
    """E_q[-log p(x|z)] + kl_weight * Σ_j max(λ, KL_j): (loss, stats). stats['elbo'] is the true ELBO."""
    t = elbo_terms(model, x)
    kl = t["kl_dim"].sum(-1)
    loss = t["rec"].mean() + kl_weight * free_bits_kl(t["kl_dim"], free_bits)
    return loss, {"loss": loss.detach(), "rec": t["rec"].mean().detach(), "kl": kl.mean().detach(),
                  "elbo": -(t["rec"] + kl).mean().detach(), "kl_weight": torch.as_tensor(kl_weight, dtype=torch.float32).detach().clone()}


def cyclical_kl_weight(step: int, total_steps: int, cycles: int, ratio: float = 0.5) -> float:
    """Fu et al. (2019): training splits into `cycles` equal cycles; in each, the weight rises linearly from 0
    to 1 over the first `ratio` of the cycle, then stays at 1. step counts from 0."""
    check_int("step", step, 0)
    check_int("total_steps", total_steps, 1)
    check_int("cycles", cycles, 1)
    check_float("ratio", ratio, 0.0, strict=True, maximum=1.0)
    period = total_steps / cycles
    tau = (step % math.ceil(period)) / period       # position within the cycle, in [0, 1)
    return min(1.0, tau / ratio)


def kl_schedule(step: int, *, steps_per_epoch: int, epochs: int, warmup: float = 0.0, cycles: int = 0,
                ratio: float = 0.5) -> float:
    """The KL weight at `step`: cyclical when cycles >= 1, else a linear warm-up over `warmup` epochs."""
    check_int("cycles", cycles, 0)
    if cycles:
        if warmup:
            raise ValueError(f"kl_warmup={warmup!r} and kl_cycles={cycles!r} both set: choose one KL schedule")
        return cyclical_kl_weight(step, steps_per_epoch * epochs, cycles, ratio)
    return kl_warmup(step, round(warmup * steps_per_epoch))
