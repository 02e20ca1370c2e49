"""Objective names -> callables with one signature: objective(model, x, kl_weight) -> (loss, stats)."""
from __future__ import annotations

from functools import partial

from ..checks import check_choice, check_float, check_int
from .elbo import elbo_loss, iwae_loss

OBJECTIVES = ("elbo", "beta", "iwae")


def make_objective(name: str, *, beta: float = 1.0, iw_samples: int = 5):
    """'elbo' (beta must stay 1), 'beta' (beta-VAE weight on the KL) or 'iwae' (iw_samples >= 1)."""
    check_choice("objective", name, OBJECTIVES)
    check_float("beta", beta, 0.0)
    if name == "elbo":
        if beta != 1.0:
            raise ValueError(f"beta={beta!r} needs objective='beta'; objective='elbo' always uses beta=1")
        return partial(elbo_loss, beta=1.0)
    if name == "beta":
        return partial(elbo_loss, beta=beta)
    check_int("iw_samples", iw_samples, 1)
    return lambda model, x, kl_weight=1.0: iwae_loss(model, x, iw_samples, kl_weight)
