"""The inference gaps of a VAE (Cremer, Li & Duvenaud 2018), per example and on average:

    log p(x) - ELBO[q]  =  (log p(x) - ELBO[q*])  +  (ELBO[q*] - ELBO[q])
                            approximation gap        amortization gap

q is the encoder's answer, q* the best diagonal Gaussian for that one example (found by per-example
optimisation, started from q), q*_full the best full-covariance Gaussian (started from q*). log p(x) is
importance-sampled with K draws from the best q* found (chunked), optionally cross-checked by AIS.
"""
from __future__ import annotations

import torch

from ..checks import check_int
from ..inference.ais import ais_log_px
from ..inference.families import FullGaussian, elbo_with_noise, standard_noise
from ..inference.fullcov import refine_fullcov
from ..inference.svi import refine
from .likelihood import iw_log_px

GAP_KEYS = ("log_px", "elbo_qstar", "elbo_q", "approximation_gap", "amortization_gap",
            "elbo_qstar_fullcov", "approximation_gap_fullcov")


def inference_gaps(model, x: torch.Tensor, *, iw_samples: int = 1000, steps: int = 300, lr: float = 0.05,
                   lr_end: float | None = 0.0025, opt_samples: int = 10, elbo_samples: int = 100,
                   fullcov: bool = True, fullcov_steps: int | None = None, ais: bool = False,
                   ais_kwargs: dict | None = None, batch_size: int = 500, seed: int = 0) -> dict:
    """Gap decomposition on x (N, *data_shape). All values in nats; gaps are >= 0 up to Monte Carlo error.

    iw_samples: K >= 1 for the importance-sampled log p(x). steps, lr, lr_end, opt_samples: the per-example
    optimisation (vaelab.inference.refine; Adam). elbo_samples: draws per example for each reported ELBO,
    the same draws for q, q* and q*_full (common random numbers make their differences precise).
    fullcov: also fit the full-covariance q* (the richer family); ais: also estimate log p(x) by AIS
    (ais_kwargs go to inference.ais_log_px; slow for large decoders).
    Returns the means over the N examples under GAP_KEYS (the *_fullcov keys only when fullcov), plus
    log_px_ais (when ais), n, iw_samples, steps, and per_example: {key: (N,) tensor on the CPU}.
    """
    check_int("iw_samples", iw_samples, 1)
    check_int("steps", steps, 0)
    check_int("elbo_samples", elbo_samples, 1)
    check_int("batch_size", batch_size, 1)
    if fullcov_steps is not None:
        check_int("fullcov_steps", fullcov_steps, 0)
    model.eval()
    dev = model.device
    x = x.to(dev)
    opt = dict(lr=lr, lr_end=lr_end, n_samples=opt_samples, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    cols: dict[str, list] = {}
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        with torch.no_grad():
            q = model.encode(xb)
        qstar = refine(model, xb, init=q, steps=steps, **opt).q
        eps = standard_noise(elbo_samples, model.latent_dim, gen, dev, batch=xb.shape[0])
        row = {}
        with torch.no_grad():
            row["elbo_q"] = elbo_with_noise(model, xb, q, eps)
            row["elbo_qstar"] = elbo_with_noise(model, xb, qstar, eps)
        proposal = qstar
        if fullcov:
            qfull = refine_fullcov(model, xb, init=qstar, steps=steps if fullcov_steps is None else fullcov_steps,
                                   **opt).q
            with torch.no_grad():
                elbo_full = elbo_with_noise(model, xb, qfull, eps)
            # The full family contains q*: where its optimiser ended below q*, q* is the better member found.
            better = elbo_full >= row["elbo_qstar"]
            qdiag = FullGaussian.from_diag(qstar)
            qfull = FullGaussian(torch.where(better[:, None], qfull.mu, qdiag.mu),
                                 torch.where(better[:, None, None], qfull.scale_tril, qdiag.scale_tril))
            row["elbo_qstar_fullcov"] = torch.maximum(elbo_full, row["elbo_qstar"])
            proposal = qfull
        row["log_px"] = iw_log_px(model, xb, iw_samples, batch_size=xb.shape[0], generator_seed=seed,
                                  proposal=proposal)
        if ais:
            row["log_px_ais"] = ais_log_px(model, xb, seed=seed, **(ais_kwargs or {}))
        for key, value in row.items():
            cols.setdefault(key, []).append(value.detach().cpu())
    per = {k: torch.cat(v) for k, v in cols.items()}
    per["approximation_gap"] = per["log_px"] - per["elbo_qstar"]
    per["amortization_gap"] = per["elbo_qstar"] - per["elbo_q"]
    if fullcov:
        per["approximation_gap_fullcov"] = per["log_px"] - per["elbo_qstar_fullcov"]
    out = {k: float(per[k].mean()) for k in GAP_KEYS if k in per}
    if ais:
        out["log_px_ais"] = float(per["log_px_ais"].mean())
    out.update(n=int(x.shape[0]), iw_samples=iw_samples, steps=steps, per_example=per)
    return out


def posterior_picture(model, x: torch.Tensor, steps: int = 200, lr: float = 0.05, n_samples: int = 10,
                      resolution: int = 121, seed: int = 0) -> dict:
    """Everything the posterior picture of one example x (*data_shape) shows, for a 2-D latent model:
    grid (inference.posterior_grid), the diagonal q at every refinement step from the encoder
    (mu, var: (steps + 1, 2)) with the ELBO of each (steps + 1,; 500 common draws), and the full-covariance q* fitted from the
    final diagonal q* (mean (2,), cov (2, 2), trace (steps + 1,)). Raises ValueError unless latent_dim == 2."""
    from ..inference.grid import posterior_grid

    grid = posterior_grid(model, x, resolution=resolution)
    xb = torch.as_tensor(x).to(model.device)[None]
    diag = refine(model, xb, init="encoder", steps=steps, lr=lr, n_samples=n_samples, seed=seed, record_path=True)
    full = refine_fullcov(model, xb, init=diag.q, steps=steps, lr=lr, n_samples=n_samples, seed=seed)
    # A smooth trace: the ELBO of every point on the path, all on the same 500 draws (common random numbers).
    from ..models.distributions import DiagGaussian
    eps = standard_noise(500, 2, torch.Generator().manual_seed(seed + 1), xb.device)
    with torch.no_grad():
        path_q = DiagGaussian(diag.path["mu"][:, 0], diag.path["logvar"][:, 0])
        trace = elbo_with_noise(model, xb.expand(steps + 1, *xb.shape[1:]), path_q, eps)
    return {"grid": grid, "mu": diag.path["mu"][:, 0].cpu(), "var": diag.path["logvar"][:, 0].exp().cpu(),
            "trace": trace.cpu(), "full_mean": full.q.mu[0].cpu(),
            "full_cov": full.q.covariance[0].cpu(), "full_trace": full.trace[:, 0].cpu()}
