"""What notebook 07 shows of Langevin chains: chains on one example's posterior (2-D latent models, beside the
true posterior on a grid), their moments with standard errors, and the latent EBM prior's picture.

Every chain of a picture runs on the same x, independently, so the chains' end points are i.i.d. draws from
the chain's law after K steps: the standard error of their mean is std / sqrt(n), and that of a variance is
sqrt((m4 - var^2) / n) (m4 the fourth central moment), per coordinate.
"""
from __future__ import annotations

import math

import torch

from ..checks import check_int
from ..inference.grid import posterior_grid
from ..inference.langevin import posterior_langevin, prior_langevin


def chain_samples(model, x: torch.Tensor, *, n_chains: int = 500, steps: int = 20, step_size=0.1,
                  temperature: float = 1.0, mala: bool = False, seed: int = 0, trace: bool = False) -> dict:
    """n_chains independent Langevin chains on p(z | x) for one example x (*data_shape), from N(0, I).
    Returns z (n_chains, d) (CPU), accept_rate (float, or None without MALA), trace ((steps + 1, n, d) or None)."""
    check_int("n_chains", n_chains, 2)
    x = torch.as_tensor(x).to(model.device)
    if tuple(x.shape) != tuple(model.data_shape):
        raise ValueError(f"x must be one example of shape {tuple(model.data_shape)}, got {tuple(x.shape)}")
    model.eval()
    gen = torch.Generator(device=model.device).manual_seed(seed)
    xs = x[None].expand(n_chains, *x.shape)
    res = posterior_langevin(model, xs, steps=steps, step_size=step_size, temperature=temperature, mala=mala,
                             prior=getattr(model, "prior", None), generator=gen, trace=trace)
    return {"z": res.z.cpu(), "accept_rate": None if res.accept_rate is None else float(res.accept_rate.mean()),
            "trace": None if res.trace is None else res.trace.cpu()}


def sample_moments(z: torch.Tensor) -> dict:
    """mean (d,), var (d,), cov (d, d) of i.i.d. samples z (n, d), with mean_se (d,) and var_se (d,)."""
    z = torch.as_tensor(z).double()
    n = z.shape[0]
    if n < 2:
        raise ValueError(f"z must hold at least 2 samples, got {n}")
    mean = z.mean(0)
    d = z - mean
    var = (d ** 2).sum(0) / (n - 1)
    m4 = (d ** 4).mean(0)
    return {"mean": mean, "var": var, "cov": d.T @ d / (n - 1), "mean_se": (var / n).sqrt(),
            "var_se": ((m4 - var ** 2).clamp_min(0) / n).sqrt(), "n": n}


def moment_bias(z: torch.Tensor, grid: dict) -> dict:
    """The chains' moments against the grid's posterior (inference.posterior_grid): mean_bias (d,) and
    var_bias (d,) with their standard errors (the grid's moments count as exact), and the largest |bias| / SE
    over the four numbers (max_z). Nats-free: z units."""
    m = sample_moments(z)
    true_var = torch.diagonal(grid["cov"]).double()
    mean_bias, var_bias = m["mean"] - grid["mean"].double(), m["var"] - true_var
    zs = torch.cat([mean_bias.abs() / m["mean_se"], var_bias.abs() / m["var_se"]])
    return {"mean_bias": mean_bias, "mean_se": m["mean_se"], "var_bias": var_bias, "var_se": m["var_se"],
            "max_z": float(zs.max()), "sample": m}


def langevin_picture(model, x: torch.Tensor, chains: dict, *, n_chains: int = 400, seed: int = 0,
                     resolution: int = 101) -> dict:
    """For one example x of a 2-D latent model with an encoder: grid (the true posterior), encoder (mean (2,),
    variances (2,)) and, per label of `chains` ({label: chain_samples keywords}), the samples with their
    moment_bias against the grid: {label: {'z', 'accept_rate', 'bias'}}."""
    grid = posterior_grid(model, x, resolution=resolution)
    with torch.no_grad():
        q = model.encode(torch.as_tensor(x).to(model.device)[None])
    out = {"grid": grid, "encoder": (q.mu[0].cpu(), q.logvar[0].exp().cpu()), "chains": {}}
    for i, (label, kw) in enumerate(chains.items()):
        run = chain_samples(model, x, n_chains=n_chains, seed=seed + i, **kw)
        out["chains"][label] = {**run, "bias": moment_bias(run["z"], grid)}
    return out


@torch.no_grad()
def energy_grid(prior, lim: float = 3.5, resolution: int = 121) -> dict:
    """f_a on a grid of a 2-D latent EBM prior, and its unnormalised log density f_a(z) + log N(z; 0, I):
    z1, z2 (R,), f (R, R) and log_density (R, R) [row = z2, column = z1], nats up to log Z_a."""
    if prior.latent_dim != 2:
        raise ValueError(f"an energy picture needs a 2-D latent prior, got latent_dim={prior.latent_dim}")
    check_int("resolution", resolution, 8)
    p = next(prior.parameters())
    c = torch.linspace(-lim, lim, resolution, device=p.device, dtype=p.dtype)
    zz = torch.stack(torch.meshgrid(c, c, indexing="xy"), -1).reshape(-1, 2)
    f = prior.f(zz).reshape(resolution, resolution)
    lp = prior.log_prob_unnormalised(zz).reshape(resolution, resolution)
    return {"z1": c.cpu(), "z2": c.cpu(), "f": f.cpu(), "log_density": lp.cpu()}


@torch.no_grad()
def generated_points(model, n: int = 1000, seed: int = 0) -> dict:
    """Prior samples z (n, d) and the points x ~ p(x | z) they generate (n, *data_shape), for a model with a
    N(0, I) prior (model.prior None: exact draws) or an EBM prior (its own short-run sampler, model.prior.steps
    steps of model.prior.step_size from N(0, I), as in training). Both on the CPU."""
    check_int("n", n, 1)
    gen = torch.Generator(device=model.device).manual_seed(seed)
    dtype = next(model.parameters()).dtype
    if getattr(model, "prior", None) is None:
        z = torch.randn((n, model.latent_dim), generator=gen, device=model.device, dtype=dtype)
    else:
        p = model.prior
        z = prior_langevin(p, n, steps=p.steps, step_size=p.step_size, generator=gen).z
    lik = model.decode(z)
    if not hasattr(lik, "logvar"):
        raise ValueError(f"generated_points draws x from a Gaussian likelihood (real-valued data), got a "
                         f"{type(lik).__name__}; decode the codes yourself for images or text")
    noise = torch.randn(lik.mean.shape, generator=gen, device=model.device, dtype=dtype)
    x = lik.mean + torch.exp(0.5 * lik.logvar) * noise
    return {"z": z.cpu(), "x": x.cpu()}


def z_score(diff: float, se: float) -> float:
    """|diff| / se (inf when se is 0 and diff is not)."""
    if se == 0:
        return 0.0 if diff == 0 else math.inf
    return abs(diff) / se
