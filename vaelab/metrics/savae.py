"""Evaluating semi-amortized inference: the ELBO before and after test-time refinement, IW-NLL with the
refined q as the proposal, and KL / MI / active units of the refined posteriors.

Every number is in nats per example (mean over the examples). Test-time refinement uses the same SVI steps
as training (vaelab.inference.savae.refine_lambda with differentiable=False), in batches of `batch_size`.
"""
from __future__ import annotations

import torch

from ..checks import check_choice, check_int
from ..inference.families import elbo_with_noise
from ..inference.savae import refine_lambda
from ..models.distributions import DiagGaussian
from .latent import active_units, mutual_information
from .likelihood import iw_log_px

INITS = ("encoder", "prior")


def refined_posteriors(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                       clip: float | None = 5.0, init: str = "encoder", batch_size: int = 500, seed: int = 0):
    """(q_0, q_K): DiagGaussians with N rows, before and after K SVI steps from the encoder (or the prior)."""
    check_choice("init", init, INITS)
    check_int("batch_size", batch_size, 1)
    model.eval()
    x = x.to(model.device)
    torch.manual_seed(seed)
    mu0, lv0, muk, lvk = [], [], [], []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        with torch.no_grad():
            if init == "encoder":
                q = model.encode(xb)
                m, lv = q.mu, q.logvar
            else:
                m = torch.zeros(xb.shape[0], model.latent_dim, device=x.device)
                lv = torch.zeros_like(m)
        mk, lk = refine_lambda(model, xb, m, lv, steps=steps, lr=lr, momentum=momentum, clip=clip,
                               differentiable=False)
        mu0.append(m), lv0.append(lv), muk.append(mk), lvk.append(lk)
    cat = torch.cat
    return DiagGaussian(cat(mu0), cat(lv0)), DiagGaussian(cat(muk), cat(lvk))


def elbo_of(model, x: torch.Tensor, q: DiagGaussian, n_samples: int = 10, seed: int = 0,
            batch_size: int = 500) -> torch.Tensor:
    """ELBO(x; q) per example (N,), nats: n_samples reparameterized draws (common noise for every q)."""
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(n_samples, 1, model.latent_dim, generator=gen).to(x.device)
    out = []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            rows = slice(s, s + batch_size)
            out.append(elbo_with_noise(model, x[rows], DiagGaussian(q.mu[rows], q.logvar[rows]), eps))
    return torch.cat(out)


def savae_report(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                 clip: float | None = 5.0, init: str = "encoder", iw_samples: int = 100, n_samples: int = 10,
                 seed: int = 0) -> dict:
    """One row of the modes table (floats, nats per example):
    elbo_0, elbo_K: ELBO with the encoder's q_0 and with the refined q_K ('prior' init: q_0 = N(0, I));
    iw_nll: -log p(x) by importance sampling with q_K as the proposal (K = iw_samples);
    kl: mean KL(q_K ‖ p(z)); mi: I_q(x; z) of the refined posteriors; active_units of q_K's means."""
    x = x.to(model.device)
    q0, qk = refined_posteriors(model, x, steps=steps, lr=lr, momentum=momentum, clip=clip, init=init, seed=seed)
    e0 = elbo_of(model, x, q0, n_samples, seed)
    ek = elbo_of(model, x, qk, n_samples, seed)
    with torch.no_grad():
        nll = -iw_log_px(model, x, iw_samples, proposal=qk, generator_seed=seed)
    torch.manual_seed(seed)
    return {"elbo_0": float(e0.mean()), "elbo_K": float(ek.mean()), "iw_nll": float(nll.mean()),
            "kl": float(qk.kl_standard().mean()), "mi": mutual_information(qk.mu, qk.logvar),
            "active_units": active_units(qk.mu)[0]}


def refinement_path(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                    clip: float | None = 5.0, n_samples: int = 500, resolution: int = 121, seed: int = 0) -> dict:
    """What the SVI-path picture of one example x (*data_shape) shows, for a 2-D latent model: grid (the true
    posterior, inference.posterior_grid), mu and var (K+1, 2) of q_k along the refinement from the encoder
    (one noise draw per step, seeded), and trace (K+1,): the ELBO of each q_k on n_samples common draws."""
    from ..inference.grid import posterior_grid

    if model.latent_dim != 2:
        raise ValueError(f"the refinement path picture needs latent_dim=2, got latent_dim={model.latent_dim}")
    model.eval()
    grid = posterior_grid(model, x, resolution=resolution)
    xb = torch.as_tensor(x).to(model.device)[None]
    with torch.no_grad():
        q0 = model.encode(xb)
    noise = torch.randn(steps, 1, 2, generator=torch.Generator().manual_seed(seed)).to(xb.device)
    _, _, path = refine_lambda(model, xb, q0.mu, q0.logvar, steps=steps, lr=lr, momentum=momentum, clip=clip,
                               noise=noise, record_path=True)
    mu, lv = path["mu"][:, 0], path["logvar"][:, 0]
    trace = elbo_of(model, xb.expand(steps + 1, *xb.shape[1:]), DiagGaussian(mu, lv), n_samples, seed + 1)
    return {"grid": grid, "mu": mu.cpu(), "var": lv.exp().cpu(), "trace": trace.cpu()}
