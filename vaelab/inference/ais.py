"""Annealed importance sampling (Neal 2001) with HMC transitions, as used to evaluate decoders by Wu et al. (2017).

Intermediate targets f_t(z) = p(z) p(x|z)^{beta_t}, 0 = beta_0 < ... < beta_T = 1. Each chain starts at
z ~ p(z); at step t its log weight gains (beta_t - beta_{t-1}) log p(x|z), then z moves by one HMC step
(leapfrog + Metropolis-Hastings) that leaves f_t invariant. log p(x) ~ logmeanexp over chains: an unbiased
estimate of p(x), so a stochastic lower bound on log p(x).
All examples and chains run as one batch: z is (chains, B, d). The leapfrog step size is adapted per
example towards an acceptance rate of `target_accept` (as in Wu et al.'s code).
"""
from __future__ import annotations

import math

import torch

from ..checks import check_choice, check_finite, check_float, check_int
from ..models.distributions import standard_normal_log_prob
from ..models.fused_grad import fused_log_lik_and_grad

SCHEDULES = ("sigmoid", "linear")


def beta_schedule(n_steps: int, kind: str = "sigmoid", delta: float = 4.0) -> torch.Tensor:
    """(n_steps + 1,) temperatures from exactly 0 to exactly 1. 'sigmoid' (Wu et al. 2017) spends more steps
    near both ends than 'linear'."""
    check_int("n_steps", n_steps, 1)
    check_choice("schedule", kind, SCHEDULES)
    t = torch.linspace(0.0, 1.0, n_steps + 1, dtype=torch.float64)
    if kind == "linear":
        return t
    s = torch.sigmoid(delta * (2 * t - 1))
    return (s - s[0]) / (s[-1] - s[0])


def _log_lik_and_grad(model, x):
    """A callable z (chains, B, d) -> (log p(x|z) (chains, B), d log p(x|z) / dz (chains, B, d)) for the batch x:
    the fused, autograd-free path (models.fused_grad) for an MLP decoder with a Bernoulli likelihood, else
    autograd through model.decode(z).log_prob(x). Made once per batch: the fused path keeps x W and its buffers.
    value=False lets the fused path skip the value (returned as None), which HMC's inner leapfrog steps never read."""
    fused = fused_log_lik_and_grad(model, x)
    if fused is not None:
        return fused

    def through_autograd(z, value=True):
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            ll = model.decode(z).log_prob(x)
            (g,) = torch.autograd.grad(ll.sum(), z)
        return ll.detach(), g
    return through_autograd


def ais_log_px(model, x: torch.Tensor, *, n_chains: int = 16, n_steps: int = 500, leapfrog: int = 10,
               step_size: float = 0.05, target_accept: float = 0.65, schedule: str = "sigmoid",
               batch_size: int = 100, seed: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """AIS estimate of log p(x) per example: (N,) nats, in the model's dtype. Cost: n_steps * (leapfrog + 1)
    decoder passes with gradient over n_chains * batch_size codes at a time.

    Randomness: all noise is drawn from `generator` on its own device (a CPU generator, the default, gives
    the same numbers on every device) and moved to the model's; without one, from a private CPU generator
    seeded with `seed`. torch's global random state is left alone; one generator runs through all batches,
    and passing the same generator to successive calls (as inference_gaps does) continues its stream."""
    check_finite("x", x)
    check_int("n_chains", n_chains, 1)
    check_int("leapfrog", leapfrog, 1)
    check_int("batch_size", batch_size, 1)
    check_float("step_size", step_size, 0.0, strict=True)
    check_float("target_accept", target_accept, 0.0, strict=True, maximum=1.0)
    betas = beta_schedule(n_steps, schedule).tolist()
    model.eval()
    dev, dtype = model.device, next(model.parameters()).dtype
    gen = generator if generator is not None else torch.Generator().manual_seed(check_int("seed", seed, 0))
    noise = lambda *shape: torch.randn(*shape, generator=gen, device=gen.device, dtype=dtype).to(dev)  # noqa: E731
    uniform = lambda *shape: torch.rand(*shape, generator=gen, device=gen.device, dtype=dtype).to(dev)  # noqa: E731
    out = []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size].to(dev)
        b, d = xb.shape[0], model.latent_dim
        z = noise(n_chains, b, d)
        eps = torch.full((1, b, 1), step_size, device=dev, dtype=dtype)
        log_w = torch.zeros(n_chains, b, device=dev, dtype=dtype)
        log_lik_and_grad = _log_lik_and_grad(model, xb)
        ll, g_ll = log_lik_and_grad(z)
        for t in range(1, n_steps + 1):
            beta = betas[t]
            log_w = log_w + (beta - betas[t - 1]) * ll

            def energy(ll_, z_):      # U(z) = -log f_t(z)
                return -(standard_normal_log_prob(z_) + beta * ll_)

            def grad_u(g_, z_):
                return z_ - beta * g_

            p0 = noise(n_chains, b, d)
            u0 = energy(ll, z)
            zn, p, g = z, p0 - 0.5 * eps * grad_u(g_ll, z), g_ll
            for i in range(leapfrog):
                zn = zn + eps * p
                lln, g = log_lik_and_grad(zn, value=i == leapfrog - 1)
                if i < leapfrog - 1:
                    p = p - eps * grad_u(g, zn)
            p = p - 0.5 * eps * grad_u(g, zn)
            log_accept = u0 - energy(lln, zn) + 0.5 * (p0 ** 2).sum(-1) - 0.5 * (p ** 2).sum(-1)
            log_accept = torch.nan_to_num(log_accept, nan=-math.inf)
            accept = torch.log(uniform(n_chains, b)) < log_accept
            z = torch.where(accept[..., None], zn, z)
            ll = torch.where(accept, lln, ll)
            g_ll = torch.where(accept[..., None], g, g_ll)
            rate = accept.to(dtype).mean(0).view(1, b, 1)
            eps = eps * torch.where(rate > target_accept, 1.02, 0.98)
        out.append(torch.logsumexp(log_w, 0) - math.log(n_chains))
    return torch.cat(out)
