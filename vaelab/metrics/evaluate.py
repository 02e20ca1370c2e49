"""evaluate(): the standard report of a trained VAE on one split, as the CLI's `eval --json` prints it."""
from __future__ import annotations

import torch

from ..checks import check_finite, check_int
from ..models.vae import check_likelihood_data
from .collapse import perplexity, token_count
from .latent import active_units, kl_per_dim, mutual_information_stats
from .likelihood import elbo_parts, iw_log_px, mean_se
from .prior_match import mmd_prior


def eval_inputs(ds, seed: int = 0) -> torch.Tensor:
    """The tensor to score: dynamically binarized sets get one fixed binary draw, so scores are reproducible."""
    if ds.meta.get("binarize") == "dynamic":
        return torch.bernoulli(ds.x, generator=torch.Generator().manual_seed(seed))
    return ds.x


def _with_se(name: str, per_example: torch.Tensor) -> dict:
    """{name: mean, name_se: standard error over the examples}, as floats."""
    mean, se = mean_se(per_example)
    return {name: mean, f"{name}_se": se}


@torch.inference_mode()
def evaluate(model, ds, iw_samples: int = 1000, batch_size: int = 500, seed: int = 0,
             precision: str = "fp32") -> dict:
    """Keys: elbo (mean ELBO, nats, negative), iw_nll (-L_K, positive nats), rec (E_q -log p(x|z)), kl, each
    with a standard error over the examples (elbo_se, iw_nll_se, rec_se, kl_se); kl_per_dim (list);
    mi (nats) with mi_se and mi_ceiling (the estimator cannot exceed log of its aggregate sample size);
    mmd_prior (unbiased MMD² between q(z) and p(z) samples, IMQ kernel); active_units, n, iw_samples, likelihood.
    Means over the split's examples. Text data (token ids) adds nll_per_token and ppl = exp(Σ iw_nll / Σ tokens),
    tokens counting words and EOS. Every value is a normalised log-likelihood: a Bernoulli model on grey data is
    refused (ValueError).
    precision: the arithmetic of the importance-sampled -log p(x) ('fp32', 'tf32', 'bf16'; see iw_log_px).
    Random draws come from private generators seeded with `seed`: torch's global random state is untouched."""
    check_int("iw_samples", iw_samples, 1)
    model.eval()
    dev = model.device
    x = check_finite("ds.x", eval_inputs(ds, seed).to(dev))
    # every reported "nats" must be a log-likelihood: refuse data the likelihood is no density for
    check_likelihood_data(getattr(model, "likelihood", "gaussian"), x)
    gen = torch.Generator(dev).manual_seed(seed)
    parts = elbo_parts(model, x, batch_size, generator=gen)
    log_px = iw_log_px(model, x, iw_samples, batch_size=batch_size, seed=seed + 1, precision=precision)
    au, _ = active_units(parts["mu"])
    text = {}
    tokens = token_count(x)
    if tokens is not None:
        # text: per-token NLL and perplexity from the importance-sampled -log p(x) (corpus-level)
        text["nll_per_token"], text["ppl"] = perplexity(-log_px, tokens)
    mi = mutual_information_stats(parts["mu"], parts["logvar"], generator=gen)
    return {**text,
        **({"precision": precision} if precision != "fp32" else {}),
        **_with_se("elbo", -(parts["rec"] + parts["kl"])),
        **_with_se("iw_nll", -log_px),
        **_with_se("rec", parts["rec"]),
        **_with_se("kl", parts["kl"]),
        "kl_per_dim": [round(float(v), 5) for v in kl_per_dim(parts["mu"], parts["logvar"])],
        **mi,
        "mmd_prior": mmd_prior(parts["mu"], parts["logvar"], seed=seed),
        "active_units": au,
        "n": int(x.shape[0]),
        "iw_samples": iw_samples,
        "likelihood": getattr(model, "likelihood", None) if tokens is None else "categorical",
    }


def decoder_only_report(model, ds, batch_size: int = 500) -> dict:
    """What `vaelab eval` reports for a run trained with objective 'lm' (the decoder alone, z = 0): nll, the exact
    -log p(x | z = 0) in nats per example, with nll_se over the examples; n; exact=True; and for text
    nll_per_token and ppl (corpus-level, EOS counted). An importance-sampled estimate would be meaningless there:
    that decoder never saw any z but 0, and its encoder was never trained."""
    from .likelihood import decoder_only_nll

    model.eval()
    x = check_finite("ds.x", eval_inputs(ds).to(model.device))
    check_likelihood_data(getattr(model, "likelihood", "gaussian"), x)
    nll = decoder_only_nll(model, x, batch_size)
    out = {"exact": True, "n": int(x.shape[0])}
    out["nll"], out["nll_se"] = mean_se(nll)
    tokens = token_count(x)
    if tokens is not None:
        out["nll_per_token"], out["ppl"] = perplexity(nll, tokens)
    return out
