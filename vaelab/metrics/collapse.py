"""Collapse diagnostics: how much of the latent a model uses, in one pass, for per-epoch histories.

Posterior collapse is q(z|x) ≈ p(z) for every x: KL ≈ 0, mutual information I_q(x; z) ≈ 0 and no active
unit. For text, the same pass gives per-token NLL and perplexity (from the ELBO: an upper bound on the
true per-token NLL; evaluate() adds the importance-sampled one).
"""
from __future__ import annotations

import math

import torch

from ..checks import check_finite, check_float
from .latent import active_units, kl_per_dim, mutual_information
from .likelihood import elbo_parts

COLLAPSE_KL = 0.1   # nats: below this total KL (and with no active unit) training warns of collapse


def token_count(x: torch.Tensor) -> torch.Tensor | None:
    """Scored tokens (words + EOS) per row for token-id data (n, T); None for images/points."""
    if torch.is_floating_point(x):
        return None
    from ..data.text import PAD

    return (x != PAD).sum(-1)


def perplexity(nll: torch.Tensor, tokens: torch.Tensor) -> tuple[float, float]:
    """(per-token NLL, perplexity) = (Σ nll / Σ tokens, exp of it): corpus-level, as in the text-VAE papers."""
    per_token = float(nll.sum() / tokens.sum())
    return per_token, math.exp(per_token)


@torch.inference_mode()
def latent_usage(model, x: torch.Tensor, batch_size: int = 500) -> dict:
    """kl (nats, mean), kl_per_dim (list, nats), mi (nats), active_units, and for text nll_per_token
    (from -ELBO) and ppl. x: the examples to diagnose, e.g. a fixed subset of the training set."""
    check_finite("x", x)
    was_training = model.training
    model.eval()
    parts = elbo_parts(model, x, batch_size)
    model.train(was_training)
    au, _ = active_units(parts["mu"]) if x.shape[0] > 1 else (0, None)
    row = {"kl": float(parts["kl"].mean()),
           "kl_per_dim": [float(v) for v in kl_per_dim(parts["mu"], parts["logvar"])],
           "mi": mutual_information(parts["mu"], parts["logvar"], batch_size=max(2, min(batch_size, x.shape[0]))),
           "active_units": au}
    tokens = token_count(x)
    if tokens is not None:
        row["nll_per_token"], row["ppl"] = perplexity(parts["rec"] + parts["kl"], tokens)
    return row


def is_collapsed(usage: dict, kl_threshold: float = COLLAPSE_KL) -> bool:
    """True when the mean KL is below kl_threshold nats and no unit is active."""
    check_float("kl_threshold", kl_threshold, 0.0)
    return usage["kl"] < kl_threshold and usage["active_units"] == 0


def collapse_message(usage: dict, kl_threshold: float = COLLAPSE_KL) -> str:
    return (f"posterior collapse: KL < {kl_threshold:g} nats ({usage['kl']:.4f}), active units 0, "
            f"MI {usage['mi']:.4f} nats: the decoder ignores z. Remedies: --kl-warmup, --kl-cycles, "
            "--objective freebits/aggressive, --word-dropout, or a weaker decoder.")
