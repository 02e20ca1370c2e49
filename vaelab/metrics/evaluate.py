"""evaluate(): the standard report of a trained VAE on one split, as the CLI's `eval --json` prints it."""
from __future__ import annotations

import torch

from ..checks import check_int
from .latent import active_units, kl_per_dim, mutual_information
from .likelihood import elbo_parts, iw_log_px


def eval_inputs(ds, seed: int = 0) -> torch.Tensor:
    """The tensor to score: dynamically binarized sets get one fixed binary draw, so scores are reproducible."""
    if ds.meta.get("binarize") == "dynamic":
        return torch.bernoulli(ds.x, generator=torch.Generator().manual_seed(seed))
    return ds.x


@torch.inference_mode()
def evaluate(model, ds, iw_samples: int = 1000, batch_size: int = 500, seed: int = 0) -> dict:
    """Keys: elbo (mean ELBO, nats, negative), iw_nll (-L_K, positive nats), rec (E_q -log p(x|z)), kl,
    kl_per_dim (list), mi (nats), active_units, n, iw_samples. Means over the split's examples."""
    check_int("iw_samples", iw_samples, 1)
    model.eval()
    dev = model.device
    x = eval_inputs(ds, seed).to(dev)
    torch.manual_seed(seed)
    parts = elbo_parts(model, x, batch_size)
    log_px = iw_log_px(model, x, iw_samples, batch_size=batch_size, generator_seed=seed)
    au, _ = active_units(parts["mu"])
    return {
        "elbo": float(-(parts["rec"] + parts["kl"]).mean()),
        "iw_nll": float(-log_px.mean()),
        "rec": float(parts["rec"].mean()),
        "kl": float(parts["kl"].mean()),
        "kl_per_dim": [round(float(v), 5) for v in kl_per_dim(parts["mu"], parts["logvar"])],
        "mi": mutual_information(parts["mu"], parts["logvar"]),
        "active_units": au,
        "n": int(x.shape[0]),
        "iw_samples": iw_samples,
    }
