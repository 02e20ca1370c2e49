"""Evaluating semi-amortized inference: the ELBO before and after test-time refinement, IW-NLL with the
refined q as the proposal, and KL / MI / active units of the refined posteriors.

Every number is in nats per example (mean over the examples). Test-time refinement uses the same SVI steps
as training (vaelab.inference.savae.refine_lambda with differentiable=False), in batches of `batch_size`.
"""
from __future__ import annotations

import torch

from ..checks import check_choice, check_finite, check_int
from ..inference.families import defensive_proposal, elbo_with_noise
from ..inference.savae import refine_lambda
from ..inference.savae_modes import SAVAE_MODES
from ..models.distributions import DiagGaussian
from .latent import active_units, mutual_information_stats
from .likelihood import iw_log_px, mean_se

INITS = ("encoder", "prior")


def refined_posteriors(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                       clip: float | None = 5.0, init: str = "encoder", batch_size: int = 500, seed: int = 0):
    """(q_0, q_K): DiagGaussians with N rows, before and after K SVI steps from the encoder (or the prior)."""
    check_finite("x", x)
    check_choice("init", init, INITS)
    check_int("batch_size", batch_size, 1)
    model.eval()
    x = x.to(model.device)
    # the SVI noise of every batch from one private generator: reproducible, independent across batches, and
    # torch's global random state is left alone
    gen = torch.Generator().manual_seed(seed)
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
        noise = torch.randn(steps, *m.shape, generator=gen, dtype=m.dtype).to(m.device)
        mk, lk = refine_lambda(model, xb, m, lv, steps=steps, lr=lr, momentum=momentum, clip=clip,
                               noise=noise, differentiable=False)
        mu0.append(m), lv0.append(lv), muk.append(mk), lvk.append(lk)
    cat = torch.cat
    return DiagGaussian(cat(mu0), cat(lv0)), DiagGaussian(cat(muk), cat(lvk))


def elbo_of(model, x: torch.Tensor, q: DiagGaussian, n_samples: int = 10, seed: int = 0,
            batch_size: int = 500) -> torch.Tensor:
    """ELBO(x; q) per example (N,), nats: n_samples reparameterized draws (common noise for every q)."""
    check_finite("x", x)
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(n_samples, 1, model.latent_dim, generator=gen).to(x.device)
    out = []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            rows = slice(s, s + batch_size)
            out.append(elbo_with_noise(model, x[rows], DiagGaussian(q.mu[rows], q.logvar[rows]), eps))
    return torch.cat(out)


def compare_refined(base, other, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                    clip: float | None = None, n_samples: int = 200, seed: int = 0) -> dict:
    """Two models with the same likelihood (e.g. one decoder, two encoders) refined by the same K SVI steps
    (the same noise, from `seed`) and scored on the same draws (n_samples per example, also from `seed`).

    Floats, nats per example (mean over the N examples of x), each with its standard error over the examples
    under `<key>_se`, for m in ('base', 'other'): m_elbo_0 and m_elbo_K (the ELBO of q_0, the encoder's q, and
    of q_K), m_gain = m_elbo_K - m_elbo_0; and diff_elbo_0, diff_elbo_K, diff_gain = other's minus base's.
    Gains and differences are per example on common draws, so their SEs are paired. For VAE+SVI against
    SA-VAE: base the VAE-trained encoder, other the SA-VAE-trained one, and the refinement SA-VAE was trained
    with (steps, lr, momentum, clip)."""
    x = check_finite("x", x).to(base.device)
    per = {}
    for name, model in (("base", base), ("other", other)):
        q0, qk = refined_posteriors(model, x, steps=steps, lr=lr, momentum=momentum, clip=clip, seed=seed)
        per[f"{name}_elbo_0"] = elbo_of(model, x, q0, n_samples, seed)
        per[f"{name}_elbo_K"] = elbo_of(model, x, qk, n_samples, seed)
        per[f"{name}_gain"] = per[f"{name}_elbo_K"] - per[f"{name}_elbo_0"]
    for key in ("elbo_0", "elbo_K", "gain"):
        per[f"diff_{key}"] = per[f"other_{key}"] - per[f"base_{key}"]
    out = {}
    for key, values in per.items():
        out[key], out[f"{key}_se"] = mean_se(values)
    return out


def savae_report(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                 clip: float | None = 5.0, init: str = "encoder", iw_samples: int = 100, n_samples: int = 10,
                 seed: int = 0) -> dict:
    """One row of the modes table (floats, nats per example; each mean with its standard error over the
    examples under `<key>_se`):
    elbo_0, elbo_K: ELBO with the encoder's q_0 and with the refined q_K ('prior' init: q_0 = N(0, I));
    iw_nll: -log p(x) by importance sampling (K = iw_samples) from the defensive mixture around q_K
    (inference.defensive_proposal: q_K alone, a diagonal Gaussian, can give weights of infinite variance on a
    correlated posterior and bias log p(x) low);
    kl: mean KL(q_K ‖ p(z)); mi (with mi_se, mi_ceiling): I_q(x; z) of the refined posteriors; active_units of
    q_K's means. Draws come from private generators seeded with `seed`: torch's global state is untouched."""
    x = check_finite("x", x).to(model.device)
    q0, qk = refined_posteriors(model, x, steps=steps, lr=lr, momentum=momentum, clip=clip, init=init, seed=seed)
    e0 = elbo_of(model, x, q0, n_samples, seed)
    ek = elbo_of(model, x, qk, n_samples, seed)
    with torch.no_grad():
        nll = -iw_log_px(model, x, iw_samples, proposal=defensive_proposal(qk), seed=seed)
    out = {}
    for key, per in (("elbo_0", e0), ("elbo_K", ek), ("iw_nll", nll), ("kl", qk.kl_standard())):
        out[key], out[f"{key}_se"] = mean_se(per)
    out.update(mutual_information_stats(qk.mu, qk.logvar, generator=torch.Generator(x.device).manual_seed(seed)))
    out["active_units"] = active_units(qk.mu)[0]
    return out


def refinement_path(model, x: torch.Tensor, *, steps: int, lr: float, momentum: float = 0.5,
                    clip: float | None = 5.0, n_samples: int = 500, resolution: int = 121, seed: int = 0) -> dict:
    """What the SVI-path picture of one example x (*data_shape) shows, for a 2-D latent model: grid (the true
    posterior, inference.posterior_grid), mu and var (K+1, 2) of q_k along the refinement from the encoder
    (one noise draw per step, seeded), and trace (K+1,): the ELBO of each q_k on n_samples common draws."""
    from ..inference.grid import posterior_grid

    if model.latent_dim != 2:
        raise ValueError(f"the refinement path picture needs latent_dim=2, got latent_dim={model.latent_dim}")
    check_finite("x", x)
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


def _svi_settings(train_config) -> dict:
    """The refinement a run with an SA-VAE objective was trained with: steps, lr, momentum, clip, init."""
    cfg = train_config.to_dict() if hasattr(train_config, "to_dict") else dict(train_config)
    objective = cfg.get("objective")
    if objective not in SAVAE_MODES:
        raise ValueError(f"the refined ELBO needs a run trained with an SA-VAE objective "
                         f"({', '.join(map(repr, SAVAE_MODES))}), got objective={objective!r}")
    missing = [k for k in ("svi_steps", "svi_lr", "svi_momentum", "svi_clip") if k not in cfg]
    if missing:
        raise ValueError(f"train_config lacks the SVI settings {missing} of objective={objective!r}")
    return {"steps": cfg["svi_steps"], "lr": cfg["svi_lr"], "momentum": cfg["svi_momentum"], "clip": cfg["svi_clip"],
            "init": "prior" if objective == "svi" else "encoder"}


def _refined_elbos(model, x, train_config, n_samples, seed, batch_size):
    """(ELBO_0, ELBO_K) per example, (N,) each: q_0 the refinement's start, q_K after the run's K SVI steps;
    n_samples independent draws per example, the same for q_0 and q_K (paired). Global RNG state untouched."""
    check_int("n_samples", n_samples, 1)
    svi = _svi_settings(train_config)
    x = check_finite("x", x).to(model.device)
    devices = [model.device] if model.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):      # refined_posteriors seeds the global generator
        q0, qk = refined_posteriors(model, x, batch_size=batch_size, seed=seed, **svi)
    gen = torch.Generator().manual_seed(seed + 1)
    out0, outk = [], []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            rows = slice(s, s + batch_size)
            xb = x[rows]
            eps = torch.randn(n_samples, xb.shape[0], model.latent_dim, generator=gen).to(q0.mu)
            out0.append(elbo_with_noise(model, xb, DiagGaussian(q0.mu[rows], q0.logvar[rows]), eps))
            outk.append(elbo_with_noise(model, xb, DiagGaussian(qk.mu[rows], qk.logvar[rows]), eps))
    return torch.cat(out0), torch.cat(outk)


def refined_elbo(model, x: torch.Tensor, train_config, n_samples: int = 10, seed: int = 0,
                 batch_size: int = 500) -> torch.Tensor:
    """ELBO_K per example, (N,) nats: the ELBO after the K SVI steps an SA-VAE run was trained for (its own
    svi_steps, svi_lr, svi_momentum, svi_clip; from the prior for objective 'svi', else from the encoder),
    estimated with n_samples independent reparameterized draws per example. train_config: the run's
    TrainConfig or its dict (objective one of 'svi', 'vae+svi', 'vae+svi+kl', 'savae')."""
    return _refined_elbos(model, x, train_config, n_samples, seed, batch_size)[1]


def _mean_se(t: torch.Tensor) -> tuple[float, float]:
    t = t.double()
    return float(t.mean()), float(t.std() / t.numel() ** 0.5) if t.numel() > 1 else float("nan")


def refined_elbo_report(model, x: torch.Tensor, train_config, n_samples: int = 10, seed: int = 0,
                        batch_size: int = 500) -> dict:
    """What `vaelab eval` adds for an SA-VAE run (floats, nats, means over the N examples of x):
    elbo_refined (ELBO_K, see refined_elbo) and elbo_refined_se (standard error over the examples, std/√N);
    elbo_refined_gain = ELBO_K - ELBO_0 on the same draws, with ELBO_0 that of the refinement's start (the
    encoder's q, or the prior for 'svi'), and its paired standard error elbo_refined_gain_se;
    svi_steps K and svi_init ('encoder' | 'prior')."""
    e0, ek = _refined_elbos(model, x, train_config, n_samples, seed, batch_size)
    svi = _svi_settings(train_config)
    (mk, sk), (mg, sg) = _mean_se(ek), _mean_se(ek - e0)
    return {"elbo_refined": mk, "elbo_refined_se": sk, "elbo_refined_gain": mg, "elbo_refined_gain_se": sg,
            "svi_steps": svi["steps"], "svi_init": svi["init"]}
