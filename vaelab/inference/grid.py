"""The true posterior p(z|x) of a 2-D latent model, on a grid, normalised by quadrature.

log p(x, z) = log p(x|z) + log p(z) is evaluated at every grid point; normalising over the grid gives
p(z|x) and, as a by-product, log p(x) ~ logsumexp_grid log p(x, z) + log(cell area) (a third estimator of
log p(x), accurate for a 2-D latent when the grid covers the posterior and resolves it).
"""
from __future__ import annotations

import math

import torch

from ..checks import check_float, check_int
from ..models.distributions import standard_normal_log_prob


def _check_2d(model) -> None:
    if model.latent_dim != 2:
        raise ValueError(f"a posterior grid needs a model with a 2-D latent (latent_dim=2), got "
                         f"latent_dim={model.latent_dim}; train one with latent_dim=2 for this picture")


@torch.inference_mode()
def _log_joint(model, x, z1, z2):
    zz = torch.stack(torch.meshgrid(z1, z2, indexing="xy"), -1)   # (R2, R1, 2): rows follow z2
    flat = zz.reshape(-1, 1, 2)
    lj = model.decode(flat).log_prob(x[None]) + standard_normal_log_prob(flat)
    return lj.reshape(zz.shape[:2])


def posterior_grid(model, x: torch.Tensor, resolution: int = 121, lim: float = 4.5, coarse: int = 81,
                   mass: float = 0.9999) -> dict:
    """p(z|x) on a grid for one example x (*data_shape).

    A coarse grid on [-lim, lim]^2 finds where the posterior's mass is (the smallest box holding `mass` of
    it); a fine grid of `resolution`^2 points over that box, padded, gives the picture.
    Returns z1 (R,), z2 (R,), log_joint (R, R) [row = z2, column = z1], density (R, R) summing to 1 times
    the cell area, log_px (float, nats), mean (2,), cov (2, 2) of the gridded posterior.
    """
    _check_2d(model)
    check_int("resolution", resolution, 8)
    check_int("coarse", coarse, 8)
    check_float("lim", lim, 0.0, strict=True)
    check_float("mass", mass, 0.0, strict=True, maximum=1.0)
    model.eval()
    dev = model.device
    x = torch.as_tensor(x).to(dev)
    if tuple(x.shape) != tuple(model.data_shape):
        raise ValueError(f"x must be one example of shape {tuple(model.data_shape)}, got {tuple(x.shape)}")
    c = torch.linspace(-lim, lim, coarse, device=dev)
    w = torch.softmax(_log_joint(model, x, c, c).flatten(), 0).reshape(coarse, coarse)
    box = []
    for marg in (w.sum(0), w.sum(1)):                                 # over z1 (columns), then z2 (rows)
        cdf = marg.cumsum(0)
        lo = int((cdf < (1 - mass) / 2).sum())
        hi = int((cdf < 1 - (1 - mass) / 2).sum())
        a, b = float(c[max(lo - 1, 0)]), float(c[min(hi + 1, coarse - 1)])
        pad = 0.15 * (b - a) + 2 * lim / (coarse - 1)
        box.append((a - pad, b + pad))
    z1 = torch.linspace(*box[0], resolution, device=dev)
    z2 = torch.linspace(*box[1], resolution, device=dev)
    lj = _log_joint(model, x, z1, z2)
    log_area = math.log(float(z1[1] - z1[0]) * float(z2[1] - z2[0]))
    log_px = torch.logsumexp(lj.flatten(), 0) + log_area
    prob = torch.softmax(lj.flatten(), 0).reshape(lj.shape)          # cell probabilities
    zz = torch.stack(torch.meshgrid(z1, z2, indexing="xy"), -1)
    mean = (prob[..., None] * zz).sum((0, 1))
    diff = zz - mean
    cov = (prob[..., None, None] * diff[..., :, None] * diff[..., None, :]).sum((0, 1))
    return {"z1": z1.cpu(), "z2": z2.cpu(), "log_joint": lj.cpu(), "density": (prob / math.exp(log_area)).cpu(),
            "log_px": float(log_px), "mean": mean.cpu(), "cov": cov.cpu()}
