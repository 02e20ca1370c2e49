"""Objective names -> callables with one signature: objective(model, x, kl_weight) -> (loss, stats)."""
from __future__ import annotations

from functools import partial

from ..checks import check_choice, check_float, check_int
from .collapse import check_free_bits, free_bits_loss
from .elbo import elbo_loss, iwae_loss
from .infovae import infovae_loss, mmd_weight
from .mmd import KERNELS

OBJECTIVES = ("elbo", "beta", "iwae", "infovae", "freebits", "aggressive")


def make_objective(name: str, *, beta: float = 1.0, iw_samples: int = 5, alpha: float = 0.0, lam: float = 1.0,
                   kernel: str = "imq", free_bits: float = 0.0):
    """'elbo' (beta must stay 1), 'beta' (beta-VAE weight on the KL) or 'iwae' (iw_samples >= 1);
    'infovae': rec + (1-alpha)·KL + (alpha+lam-1)·MMD² with kernel 'imq' | 'rbf' (alpha+lam-1 >= 0).
    The SA-VAE modes (Kim et al. 2018) run a refinement and live in vaelab.inference.savae_modes; fit()
    takes every name through vaelab.train.objectives."""
    check_choice("objective", name, OBJECTIVES)
    # 'freebits': rec + Σ_j max(free_bits, KL_j) (vaelab.objectives.collapse). 'aggressive': the plain ELBO;
    # fit() sees the name and runs He et al. (2019)'s encoder-first schedule (vaelab.train.aggressive).
    if name == "freebits":
        return partial(free_bits_loss, free_bits=check_free_bits(free_bits))
    if free_bits != 0.0:
        raise ValueError(f"free_bits={free_bits!r} needs objective='freebits'; objective={name!r} ignores it")
    if name == "aggressive":
        return partial(elbo_loss, beta=1.0)
    if name == "infovae":
        mmd_weight(alpha, lam)                          # raises, explaining the sign, when alpha+lam-1 < 0
        check_choice("kernel", kernel, KERNELS)
        return partial(infovae_loss, alpha=float(alpha), lam=float(lam), kernel=kernel)
    if (alpha, lam) != (0.0, 1.0):
        raise ValueError(f"alpha={alpha!r}, lambda={lam!r} need objective='infovae'; objective={name!r} ignores them")
    check_float("beta", beta, 0.0)
    if name == "elbo":
        if beta != 1.0:
            raise ValueError(f"beta={beta!r} needs objective='beta'; objective='elbo' always uses beta=1")
        return partial(elbo_loss, beta=1.0)
    if name == "beta":
        return partial(elbo_loss, beta=beta)
    check_int("iw_samples", iw_samples, 1)
    return lambda model, x, kl_weight=1.0: iwae_loss(model, x, iw_samples, kl_weight)
