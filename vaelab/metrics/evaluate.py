"""evaluate(): the standard report of a trained VAE on one split, as the CLI's `eval --json` prints it."""
from __future__ import annotations

import torch

from ..checks import check_int
from .collapse import perplexity, token_count
from .latent import active_units, kl_per_dim, mutual_information
from .likelihood import elbo_parts, iw_log_px
from .prior_match import mmd_prior


def eval_inputs(ds, seed: int = 0) -> torch.Tensor:
    """The tensor to score: dynamically binarized sets get one fixed binary draw, so scores are reproducible."""
    if ds.meta.get("binarize") == "dynamic":
        return torch.bernoulli(ds.x, generator=torch.Generator().manual_seed(seed))
    return ds.x


@torch.inference_mode()
def evaluate(model, ds, iw_samples: int = 1000, batch_size: int = 500, seed: int = 0,
             precision: str = "fp32") -> dict:
    """Keys: elbo (mean ELBO, nats, negative), iw_nll (-L_K, positive nats), rec (E_q -log p(x|z)), kl,
    kl_per_dim (list), mi (nats), mmd_prior (unbiased MMD² between q(z) and p(z) samples, IMQ kernel),
    active_units, n, iw_samples. Means over the split's examples. Text data (token ids) adds
    nll_per_token and ppl = exp(Σ iw_nll / Σ tokens), tokens counting words and EOS.
    precision: the arithmetic of the importance-sampled -log p(x) ('fp32', 'tf32', 'bf16'; see iw_log_px)."""
    check_int("iw_samples", iw_samples, 1)
    model.eval()
    dev = model.device
    x = eval_inputs(ds, seed).to(dev)
    torch.manual_seed(seed)
    parts = elbo_parts(model, x, batch_size)
    log_px = iw_log_px(model, x, iw_samples, batch_size=batch_size, generator_seed=seed, precision=precision)
    au, _ = active_units(parts["mu"])
    text = {}
    tokens = token_count(x)
    if tokens is not None:
        # text: per-token NLL and perplexity from the importance-sampled -log p(x) (corpus-level)
        text["nll_per_token"], text["ppl"] = perplexity(-log_px, tokens)
    return {**text,
        **({"precision": precision} if precision != "fp32" else {}),
        "elbo": float(-(parts["rec"] + parts["kl"]).mean()),
        "iw_nll": float(-log_px.mean()),
        "rec": float(parts["rec"].mean()),
        "kl": float(parts["kl"].mean()),
        "kl_per_dim": [round(float(v), 5) for v in kl_per_dim(parts["mu"], parts["logvar"])],
        "mi": mutual_information(parts["mu"], parts["logvar"]),
        "mmd_prior": mmd_prior(parts["mu"], parts["logvar"], seed=seed),
        "active_units": au,
        "n": int(x.shape[0]),
        "iw_samples": iw_samples,
    }
