"""The plain objectives (no refinement), each declared once with its parameters: name -> ObjectiveKind.

make_objective(name, **params) -> Objective, a value whose params are validated and which is called like a loss:
objective(model, x, kl_weight) -> (loss, stats). The SA-VAE modes (Kim et al. 2018) run a refinement and are
declared in vaelab.inference.savae_modes; fit() and the CLI take every name through vaelab.train.objectives.
"""
from __future__ import annotations

from functools import partial

from ..checks import check_choice, check_float, check_int
from .collapse import check_free_bits, free_bits_loss
from .elbo import decoder_only_loss, elbo_loss, iwae_loss
from .infovae import infovae_loss, mmd_weight
from .mmd import KERNELS
from .objective import Objective, ObjectiveKind, Param


def _alpha(name, value):
    return check_float(name, value, 0.0, maximum=1.0)


def _lam(name, value):
    return check_float(name, value, 0.0)


def _infovae(alpha, lam, kernel):
    mmd_weight(alpha, lam)                              # raises, explaining the sign, when alpha+lam-1 < 0
    return partial(infovae_loss, alpha=alpha, lam=lam, kernel=kernel)


def _iwae(iw_samples):
    return lambda model, x, kl_weight=1.0: iwae_loss(model, x, iw_samples, kl_weight)


KINDS = {kind.name: kind for kind in (
    ObjectiveKind("elbo", {}, lambda: partial(elbo_loss, beta=1.0), doc="the negative ELBO"),
    ObjectiveKind("beta", {"beta": Param(1.0, lambda n, v: check_float(n, v, 0.0), "weight on the KL (>= 0)")},
                  lambda beta: partial(elbo_loss, beta=beta), doc="β-VAE: rec + β·KL (Higgins et al. 2017)"),
    ObjectiveKind("iwae", {"iw_samples": Param(5, lambda n, v: check_int(n, v, 1), "importance samples K >= 1")},
                  _iwae, doc="-L_K, the importance-weighted bound (Burda et al. 2016)"),
    ObjectiveKind("infovae", {
        "alpha": Param(0.0, _alpha, "alpha in [0, 1]: the KL weight is 1 - alpha"),
        "lam": Param(1.0, _lam, "lambda >= 0, with alpha + lambda - 1 >= 0 the weight of MMD²(q(z), p(z))"),
        "kernel": Param("imq", lambda n, v: check_choice(n, v, KERNELS), "the MMD kernel")},
        _infovae, min_batch=2, doc="rec + (1-alpha)·KL + (alpha+lambda-1)·MMD² (Zhao et al. 2019)"),
    ObjectiveKind("freebits", {"free_bits": Param(0.0, lambda n, v: check_free_bits(v),
                                                  "per-dimension KL floor λ >= 0 nats")},
                  lambda free_bits: partial(free_bits_loss, free_bits=free_bits),
                  doc="rec + Σ_j max(λ, KL_j) (Kingma et al. 2016)"),
    ObjectiveKind("aggressive", {}, lambda: partial(elbo_loss, beta=1.0), encoder_first=True,
                  doc="the ELBO, with He et al. (2019)'s encoder-first inner loop in fit()"),
    ObjectiveKind("lm", {}, lambda: decoder_only_loss, trains_encoder=False,
                  doc="-log p(x|z=0): the decoder alone (a language model, for an LSTM), the baseline a VAE must match"),
)}
OBJECTIVES = tuple(KINDS)


def make_objective(name: str, **params) -> Objective:
    """The Objective `name` with `params` (each checked; a parameter `name` does not have is refused).

    'elbo'; 'beta' (beta >= 0); 'iwae' (iw_samples >= 1); 'infovae' (alpha in [0, 1], lam >= 0 with
    alpha + lam - 1 >= 0, kernel 'imq' | 'rbf'); 'freebits' (free_bits >= 0 nats); 'aggressive' (the ELBO; fit()
    runs the encoder-first schedule of vaelab.train.aggressive); 'lm' (the decoder alone, z = 0)."""
    return KINDS[check_choice("objective", name, OBJECTIVES)].build(**params)
