"""The foundations the later notebooks rest on, measured: two gradient estimators (notebook 01) and log p(x)
by importance sampling and by AIS, repeated so that every estimate carries a standard error (notebook 03).

- gradient_estimates: single-sample estimates of d/dμ E_{z ~ N(μ, σ²)}[f(z)], pathwise (reparameterized,
  z = μ + σε; Kingma & Welling 2014, Rezende et al. 2014) and score-function (REINFORCE; Williams 1992).
- iw_bound_curve: the importance-weighted bound ℒ_S (Burda et al. 2016) over a range of S, each from
  `repeats` independent estimates.
- ais_repeats: AIS (Neal 2001) over a range of numbers of intermediate distributions, repeated likewise.
- estimate_error: the mean error of repeated estimates against a known value, with its standard error.
"""
from __future__ import annotations

import math

import torch

from ..checks import check_finite, check_float, check_int
from ..inference.ais import ais_log_px
from .likelihood import iw_log_px


def gradient_estimates(f, mu: float, sigma: float, n: int, seed: int = 0,
                       generator: torch.Generator | None = None) -> dict:
    """n single-sample estimates each of d/dμ E_{z ~ N(μ, σ²)}[f(z)], in float64 on the CPU.

    f: an elementwise, differentiable torch function (e.g. lambda z: z ** 2). Both estimators use the same
    draws ε_i ~ N(0, 1) and z_i = μ + σ ε_i, and both take their derivatives by autograd:
    - 'pathwise' (n,): d f(μ + σ ε_i) / dμ = f'(z_i), the reparameterized gradient;
    - 'score' (n,): f(z_i) · d log N(z_i; μ, σ²) / dμ = f(z_i) (z_i − μ) / σ², the score-function
      (REINFORCE) gradient, with z_i held fixed.
    Both are unbiased; their means and standard errors are metrics.mean_se of each. Also 'z' (n,) and 'eps' (n,).
    Randomness: `generator` (a CPU torch.Generator), else a private one seeded with `seed`."""
    if not callable(f):
        raise TypeError(f"f must be a callable torch function of z, got {type(f).__name__}")
    mu = check_float("mu", mu, -math.inf)
    sigma = check_float("sigma", sigma, 0.0, strict=True)
    check_int("n", n, 1)
    gen = generator if generator is not None else torch.Generator().manual_seed(check_int("seed", seed, 0))
    eps = torch.randn(n, generator=gen, dtype=torch.float64)
    # one copy of μ per draw, so that autograd returns each draw's own derivative
    mus = torch.full((n,), mu, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        z = mus + sigma * eps
        (pathwise,) = torch.autograd.grad(f(z).sum(), mus)
        z_fixed = z.detach()
        log_q = -0.5 * ((z_fixed - mus) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
        (score_of_log_q,) = torch.autograd.grad(log_q.sum(), mus)
    values = f(z_fixed).detach()
    check_finite("f(z)", values)
    return {"pathwise": pathwise.detach(), "score": values * score_of_log_q, "z": z_fixed, "eps": eps}


def _repeat_rows(x: torch.Tensor, repeats: int) -> torch.Tensor:
    """x (N, ...) stacked `repeats` times: (repeats * N, ...), repeat r in rows r*N ... (r+1)*N - 1."""
    return x.repeat(repeats, *([1] * (x.dim() - 1)))


def iw_bound_curve(model, x: torch.Tensor, sizes, repeats: int = 50, seed: int = 0) -> dict:
    """The importance-weighted bound ℒ_S = E log (1/S) Σ_s p(x, z_s)/q(z_s|x), z_s ~ q(z|x) (the encoder),
    for each S in `sizes`, estimated from `repeats` independent draws of the S samples per example.

    Returns sizes (list), estimates (len(sizes), repeats, N) nats, bound (len(sizes), N) their mean over the
    repeats (the estimate of ℒ_S) and se (len(sizes), N) its standard error over the repeats. Every draw comes
    from one generator seeded with `seed` (metrics.iw_log_px), so the numbers repeat."""
    check_finite("x", x)
    sizes = [check_int("S", int(s), 1) for s in sizes]
    check_int("repeats", repeats, 2)
    if not sizes:
        raise ValueError("sizes is empty: pass the numbers of importance samples S, e.g. [1, 10, 100]")
    n = x.shape[0]
    rows = _repeat_rows(x, repeats)
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, 0))
    est = torch.stack([iw_log_px(model, rows, s, generator=gen, batch_size=rows.shape[0]).view(repeats, n)
                       for s in sizes]).double().cpu()
    return {"sizes": sizes, "estimates": est, "bound": est.mean(1), "se": est.std(1) / math.sqrt(repeats)}


def ais_repeats(model, x: torch.Tensor, n_steps, repeats: int = 5, n_chains: int = 16, leapfrog: int = 10,
                seed: int = 0) -> dict:
    """AIS estimates of log p(x) (inference.ais_log_px) for each number of intermediate distributions T in
    `n_steps`, from `repeats` independent runs of `n_chains` chains per example.

    Returns n_steps (list), estimates (len(n_steps), repeats, N) nats, mean and se (len(n_steps), N) over the
    repeats, and decoder_passes (list): the decoder evaluations (with gradient) one estimate of one example
    costs, n_chains · T · (leapfrog + 1), to compare with the S of importance sampling."""
    check_finite("x", x)
    n_steps = [check_int("n_steps", int(t), 1) for t in n_steps]
    check_int("repeats", repeats, 2)
    if not n_steps:
        raise ValueError("n_steps is empty: pass the numbers of intermediate distributions T, e.g. [10, 100]")
    n = x.shape[0]
    rows = _repeat_rows(x, repeats)
    gen = torch.Generator().manual_seed(check_int("seed", seed, 0))
    est = torch.stack([ais_log_px(model, rows, n_chains=n_chains, n_steps=t, leapfrog=leapfrog,
                                  batch_size=rows.shape[0], generator=gen).view(repeats, n) for t in n_steps])
    est = est.detach().double().cpu()
    return {"n_steps": n_steps, "estimates": est, "mean": est.mean(1), "se": est.std(1) / math.sqrt(repeats),
            "decoder_passes": [n_chains * t * (leapfrog + 1) for t in n_steps]}


def estimate_error(estimates: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
    """(mean error, its standard error), nats: the mean over N examples of (mean over R repeats − truth), for
    estimates (R, N) and the true values truth (N,). The SE combines each example's spread over its repeats,
    sqrt(Σ_i s_i² / R) / N: the truth is fixed, so only the estimator's noise counts."""
    est = torch.as_tensor(estimates).double()
    truth = torch.as_tensor(truth).double().reshape(-1)
    if est.dim() != 2 or est.shape[1] != truth.shape[0] or est.shape[0] < 2:
        raise ValueError(f"estimates must be (R >= 2, N) and truth (N,), got {tuple(est.shape)} and "
                         f"{tuple(truth.shape)}")
    r, n = est.shape
    err = float((est.mean(0) - truth).mean())
    return err, float(torch.sqrt((est.var(0) / r).sum()) / n)
