"""The inference gaps of a VAE (Cremer, Li & Duvenaud 2018), per example and on average:

    log p(x) - ELBO[q]  =  (log p(x) - ELBO[q*])  +  (ELBO[q*] - ELBO[q])
                            approximation gap        amortization gap

q is the encoder's answer, q* the best diagonal Gaussian for that one example (found by per-example
optimisation, started from q), q*_full the best full-covariance Gaussian (started from q*). log p(x) is
importance-sampled with K draws from a defensive mixture around the best q* found (chunked), optionally
cross-checked by AIS. q* still improving would over-report the approximation gap (and under-report the
amortization gap), so every optimisation reports its convergence.
"""
from __future__ import annotations

import math
import warnings

import torch

from ..checks import check_finite, check_float, check_int
from ..inference.ais import ais_log_px
from ..inference.families import FullGaussian, defensive_proposal, dtype_of, elbo_with_noise, standard_noise
from ..inference.fullcov import refine_fullcov
from ..inference.svi import refine
from .likelihood import iw_log_px, mean_se, skip_iw_draws

GAP_KEYS = ("log_px", "elbo_qstar", "elbo_q", "approximation_gap", "amortization_gap",
            "elbo_qstar_fullcov", "approximation_gap_fullcov")
# Adam's betas in the two legs, for q* and for q*_full. With beta2 = 0.999 Adam remembers the huge gradients of
# a poor start (a random encoder) for ~1000 steps and crawls afterwards; beta2 = 0.9 forgets them (binarized
# MNIST, trained decoder, random encoder, 300 steps: ELBO[q*] short of a 3000-step optimum by 0.45 nats on
# average with 0.999, by < 0.01 with 0.9) but jitters more near the optimum, so the restarted leg, which starts
# there, uses 0.999. q*_full starts from q*, near its optimum, and has d(d+3)/2 parameters to jitter: 0.999.
LEG_ADAM_BETAS = {"diag": ((0.9, 0.9), (0.9, 0.999)), "full": ((0.9, 0.999), (0.9, 0.999))}
# The last 20% of the steps run as a restarted leg at the final step size; its ELBO gain is the convergence
# check. Measured (binarized MNIST, 100 test images, 8- and 32-D latents): with the default 500 steps every
# q* changed by < 0.1 nats, and 99-100% of the q*_full by less than their scaled tolerance; after 50-100 steps
# from a random encoder (ELBO[q*] 2.4-27 nats short) 0-10% of the q* did.
CHECK_FRACTION = 0.2
CONVERGE_TOL = 0.1       # nats, for q* (scaled up for q*_full, see inference_gaps)
CONVERGED_SHARE = 0.9    # warn when fewer examples than this converged


class ConvergenceWarning(RuntimeWarning):
    """q* (or q*_full) was still improving when its optimisation ended: its gaps are not yet measurements."""


def inference_gaps(model, x: torch.Tensor, *, iw_samples: int = 1000, steps: int = 500, lr: float = 0.05,
                   lr_end: float | None = 0.0025, opt_samples: int = 10, elbo_samples: int = 100,
                   fullcov: bool = True, fullcov_steps: int | None = None, ais: bool = False,
                   ais_kwargs: dict | None = None, batch_size: int = 500, seed: int = 0,
                   converge_tol: float = CONVERGE_TOL) -> dict:
    """Gap decomposition on x (N >= 2, *data_shape). All values in nats; gaps are >= 0 up to Monte Carlo error.

    iw_samples: K >= 1 for the importance-sampled log p(x), whose proposal is
    inference.families.defensive_proposal(q*_full if fullcov else q*): a mixture of q*, q* widened and the
    prior, with finite-variance weights (q* alone has infinite variance on correlated posteriors and reads
    log p(x) low). elbo_samples: draws per example for each reported ELBO, the same for q, q* and q*_full
    (common random numbers make their differences precise).
    steps, lr, lr_end, opt_samples: the per-example optimisation (inference.refine; Adam with betas
    LEG_ADAM_BETAS), run in two legs: steps - m with the step size decaying from lr to lr_end, then
    m = ceil(CHECK_FRACTION * steps) restarted from the first leg's answer with a fresh Adam at lr_end. The
    restarted leg's ELBO gain (per example, on the common draws) is the convergence check: a fresh optimiser
    still climbs where q* is short of its optimum. An example converged when |gain| < converge_tol (nats; for
    q*_full converge_tol * sqrt((d + 3) / 4), as the check's noise grows with the square root of the
    parameters: d(d+3)/2 against 2d); a ConvergenceWarning is raised when fewer than CONVERGED_SHARE of them did.
    Measured (binarized MNIST, trained decoder, random encoder, 2/8/32-D latents, 100 images, 2-core CPU):
    the default 500 steps leave ELBO[q*] within 0.006 nats on average (0.07 at most on one image) of 3000
    steps; the former default (300 steps, one leg, beta2 = 0.999) left it 0.33-0.51 nats short on average and
    up to 1.8 on one image, over-reporting the approximation gap by as much.
    fullcov: also fit the full-covariance q* (fullcov_steps, default steps, in the same two legs, started
    from q*); where it ends below q*, q* (a member of the family) is kept. ais: also estimate log p(x) by AIS
    (ais_kwargs go to inference.ais_log_px; slow for large decoders).
    Randomness: one private generator per purpose runs through all batches (fresh draws for every example;
    torch's global random state is untouched); the same seed gives the same numbers.

    Returns floats: the means over the N examples under GAP_KEYS (the *_fullcov keys only when fullcov) and
    log_px_ais (when ais); `<key>_se` for each, the standard error over examples (a gap's is that of the
    per-example differences: paired); qstar_gain (+ _se): the mean gain of the restarted leg, qstar_converged:
    the fraction of examples converged, qstar_tol: the tolerance used (and the same three for qstar_fullcov
    when fullcov and fullcov_steps > 0; none when steps = 0); plus n, iw_samples, steps and
    per_example: {key: (N,) tensor on the CPU} (gains included).
    """
    check_float("converge_tol", converge_tol, 0.0, strict=True)
    per = gap_columns(model, x, iw_samples=iw_samples, steps=steps, lr=lr, lr_end=lr_end, opt_samples=opt_samples,
                      elbo_samples=elbo_samples, fullcov=fullcov, fullcov_steps=fullcov_steps, ais=ais,
                      ais_kwargs=ais_kwargs, batch_size=batch_size, seed=seed)
    return summarise_gaps(per, model.latent_dim, iw_samples=iw_samples, steps=steps, fullcov_steps=fullcov_steps,
                          converge_tol=converge_tol)


def gap_columns(model, x: torch.Tensor, *, rows: tuple[int, int] | None = None, iw_samples: int = 1000,
                steps: int = 500, lr: float = 0.05, lr_end: float | None = 0.0025, opt_samples: int = 10,
                elbo_samples: int = 100, fullcov: bool = True, fullcov_steps: int | None = None, ais: bool = False,
                ais_kwargs: dict | None = None, batch_size: int = 500, seed: int = 0) -> dict:
    """The per-example columns of inference_gaps (same arguments): {key: (n,) tensor on the CPU}, for the rows
    start:stop of x (rows=(start, stop); None: all), before the gaps and means are derived (summarise_gaps).

    A shard rows=(start, stop) with start a multiple of batch_size gives exactly the serial run's values of those
    rows: its generators are first advanced past the draws the serial run makes for the rows before `start`
    (_skip_gap_batch: the same draws, no optimisation or decoding), and each batch holds the same rows."""
    check_finite("x", x)
    check_int("iw_samples", iw_samples, 1)
    check_int("steps", steps, 0)
    check_int("elbo_samples", elbo_samples, 1)
    check_int("batch_size", batch_size, 1)
    check_int("seed", seed, 0)
    if fullcov_steps is not None:
        check_int("fullcov_steps", fullcov_steps, 0)
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 examples (for standard errors), got {x.shape[0]}")
    first, stop = (0, x.shape[0]) if rows is None else rows
    if not (0 <= first < stop <= x.shape[0]) or first % batch_size:
        raise ValueError(f"rows={rows!r} must be (start, stop) with 0 <= start < stop <= {x.shape[0]} (the examples) "
                         f"and start a multiple of batch_size={batch_size}")
    if ais and first > 0:
        raise ValueError(f"rows={rows!r}: ais=True cannot be sharded (AIS's draws are not replayed); run it on all "
                         "rows (rows=None)")
    model.eval()
    dev = model.device
    x = x.to(dev)
    opt = dict(lr=lr, lr_end=lr_end, n_samples=opt_samples, seed=seed)
    gens = {"elbo": torch.Generator().manual_seed(seed + 1), "iw": torch.Generator(device=dev).manual_seed(seed),
            "ais": torch.Generator().manual_seed(seed + 2)}
    full_steps = steps if fullcov_steps is None else fullcov_steps
    for start in range(0, first, batch_size):
        _skip_gap_batch(model, x[start:start + batch_size], elbo_samples, iw_samples, fullcov, gens)
    cols: dict[str, list] = {}
    for start in range(first, stop, batch_size):
        row = _gap_batch(model, x[start:min(start + batch_size, stop)], steps, full_steps, opt, elbo_samples,
                         iw_samples, fullcov, (ais_kwargs or {}) if ais else None, gens)
        for key, value in row.items():
            cols.setdefault(key, []).append(value.detach().cpu())
    return {k: torch.cat(v) for k, v in cols.items()}


def summarise_gaps(per: dict, latent_dim: int, *, iw_samples: int, steps: int, fullcov_steps: int | None = None,
                   converge_tol: float = CONVERGE_TOL) -> dict:
    """inference_gaps's result from its per-example columns `per` (gap_columns, or the shards' columns joined in
    order): the gaps per example, their means and SEs, and the convergence of q*."""
    full_steps = steps if fullcov_steps is None else fullcov_steps
    per = dict(per)
    per["approximation_gap"] = per["log_px"] - per["elbo_qstar"]
    per["amortization_gap"] = per["elbo_qstar"] - per["elbo_q"]
    if "elbo_qstar_fullcov" in per:
        per["approximation_gap_fullcov"] = per["log_px"] - per["elbo_qstar_fullcov"]
    out = {}
    for key in (*GAP_KEYS, "log_px_ais", "qstar_gain", "qstar_fullcov_gain"):
        if key in per:
            out[key], out[key + "_se"] = mean_se(per[key])
    # The check's noise grows like the square root of the parameters that jitter: d(d+3)/2 for q*_full, 2d for
    # q* (measured at 3000 steps, 32-D: per-example sd 0.03 nats for q*, 0.11 for q*_full).
    tols = {"qstar": converge_tol, "qstar_fullcov": converge_tol * math.sqrt((latent_dim + 3) / 4)}
    for name, what, n_steps in (("qstar", "q*", steps), ("qstar_fullcov", "q*_full", full_steps)):
        if name + "_gain" in per:
            out[name + "_converged"] = _converged_share(per[name + "_gain"], tols[name], what, n_steps)
            out[name + "_tol"] = tols[name]
    out.update(n=int(per["log_px"].shape[0]), iw_samples=iw_samples, steps=steps, per_example=per)
    return out


def _skip_gap_batch(model, xb, elbo_samples, iw_samples, fullcov, gens) -> None:
    """Advance gens exactly as _gap_batch(xb) does (its "elbo" and "iw" draws, in order), computing nothing else.
    Keep in step with _gap_batch: tests/test_shards.py compares a sharded run with the serial one."""
    standard_noise(elbo_samples, model.latent_dim, gens["elbo"], xb.device, batch=xb.shape[0], dtype=dtype_of(model))
    with torch.no_grad():
        q = model.encode(xb)
    # q* and q*_full have q's shapes: the proposal's draws depend on its shape alone
    stand_in = FullGaussian.from_diag(q) if fullcov else q
    skip_iw_draws(model, xb, iw_samples, gens["iw"], batch_size=xb.shape[0], proposal=defensive_proposal(stand_in))


def _gap_batch(model, xb, steps, full_steps, opt, elbo_samples, iw_samples, fullcov, ais_kwargs, gens) -> dict:
    """The per-example columns of one batch xb (B, *data_shape): {key: (B,) tensor}."""
    with torch.no_grad():
        q = model.encode(xb)
    eps = standard_noise(elbo_samples, model.latent_dim, gens["elbo"], xb.device, batch=xb.shape[0],
                         dtype=dtype_of(model))
    # The optimisers' noise restarts from `seed` in every batch. That is by design: each step's draw is shared
    # by all examples (common random numbers, see inference/svi.py), so an example's q* is the same in any batch
    # and no example's optimisation depends on another's; the estimates below draw fresh noise per batch.
    qstar, row = _two_legs(refine, model, xb, q, steps, opt, eps, "qstar_gain", LEG_ADAM_BETAS["diag"])
    with torch.no_grad():
        row["elbo_q"] = elbo_with_noise(model, xb, q, eps)
        row["elbo_qstar"] = elbo_with_noise(model, xb, qstar, eps)
    best = qstar
    if fullcov:
        qfull, gain = _two_legs(refine_fullcov, model, xb, qstar, full_steps, opt, eps, "qstar_fullcov_gain",
                                LEG_ADAM_BETAS["full"])
        row.update(gain)
        with torch.no_grad():
            elbo_full = elbo_with_noise(model, xb, qfull, eps)
        # The full family contains q*: where its optimiser ended below q*, q* is the better member found.
        better = elbo_full >= row["elbo_qstar"]
        qdiag = FullGaussian.from_diag(qstar)
        best = FullGaussian(torch.where(better[:, None], qfull.mu, qdiag.mu),
                            torch.where(better[:, None, None], qfull.scale_tril, qdiag.scale_tril))
        row["elbo_qstar_fullcov"] = torch.maximum(elbo_full, row["elbo_qstar"])
    row["log_px"] = iw_log_px(model, xb, iw_samples, batch_size=xb.shape[0], generator=gens["iw"],
                              proposal=defensive_proposal(best))
    if ais_kwargs is not None:
        row["log_px_ais"] = ais_log_px(model, xb, **{**ais_kwargs, "generator": gens["ais"]})
    return row


def _two_legs(fit, model, xb, init, steps, opt, eps, key, betas):
    """fit (refine or refine_fullcov) for `steps` in two legs; returns (q, {key: (B,) ELBO gain of the second
    leg, nats, on the draws eps}) ({} when steps == 0: nothing was optimised, nothing to check)."""
    if steps == 0:
        return fit(model, xb, init=init, steps=0, **opt).q, {}
    m = math.ceil(CHECK_FRACTION * steps)
    first = fit(model, xb, init=init, steps=steps - m, adam_betas=betas[0], **opt).q
    second = {**opt, "seed": opt["seed"] + 1, "lr": _restart_lr(opt["lr"], opt["lr_end"]), "lr_end": None}
    last = fit(model, xb, init=first, steps=m, adam_betas=betas[1], **second).q
    with torch.no_grad():
        gain = elbo_with_noise(model, xb, last, eps) - elbo_with_noise(model, xb, first, eps)
    return last, {key: gain}


def _restart_lr(lr: float, lr_end: float | None) -> float:
    """The restarted leg's constant step size: the first leg's final one. A fresh Adam at lr_end still climbs
    where q* is far (its steps do not shrink with past gradients) but does not throw a settled q* off its
    optimum, as restarting at lr did (-0.05 to -0.17 nats with full covariance)."""
    return lr if lr_end is None else lr_end


def _converged_share(gain: torch.Tensor, tol: float, what: str, steps: int) -> float:
    share = float((gain.abs() < tol).double().mean())
    if share < CONVERGED_SHARE:
        warnings.warn(
            f"inference_gaps: {what} has not converged for {1 - share:.0%} of the {gain.numel()} examples (a "
            f"restarted last {CHECK_FRACTION:.0%} of the {steps} steps still changed their ELBO by {tol:.2g} nats or "
            f"more; mean change {float(gain.mean()):+.3f} nats): gaps measured with it are not yet measurements "
            f"(an approximation gap reads too high). Run more steps (inference_gaps(steps=..., fullcov_steps=...), "
            f"`vaelab gap --steps`).",
            ConvergenceWarning, stacklevel=3)
    return share


def posterior_picture(model, x: torch.Tensor, steps: int = 200, lr: float = 0.05, n_samples: int = 10,
                      resolution: int = 121, seed: int = 0) -> dict:
    """Everything the posterior picture of one example x (*data_shape) shows, for a 2-D latent model:
    grid (inference.posterior_grid), the diagonal q at every refinement step from the encoder
    (mu, var: (steps + 1, 2)) with the ELBO of each (steps + 1,; 500 common draws), and the full-covariance q* fitted from the
    final diagonal q* (mean (2,), cov (2, 2), trace (steps + 1,)). Raises ValueError unless latent_dim == 2."""
    from ..inference.grid import posterior_grid

    check_finite("x", x)
    grid = posterior_grid(model, x, resolution=resolution)
    xb = torch.as_tensor(x).to(model.device)[None]
    diag = refine(model, xb, init="encoder", steps=steps, lr=lr, n_samples=n_samples, seed=seed, record_path=True)
    full = refine_fullcov(model, xb, init=diag.q, steps=steps, lr=lr, n_samples=n_samples, seed=seed)
    # A smooth trace: the ELBO of every point on the path, all on the same 500 draws (common random numbers).
    from ..models.distributions import DiagGaussian
    eps = standard_noise(500, 2, torch.Generator().manual_seed(seed + 1), xb.device, dtype=dtype_of(model))
    with torch.no_grad():
        path_q = DiagGaussian(diag.path["mu"][:, 0], diag.path["logvar"][:, 0])
        trace = elbo_with_noise(model, xb.expand(steps + 1, *xb.shape[1:]), path_q, eps)
    return {"grid": grid, "mu": diag.path["mu"][:, 0].cpu(), "var": diag.path["logvar"][:, 0].exp().cpu(),
            "trace": trace.cpu(), "full_mean": full.q.mu[0].cpu(),
            "full_cov": full.q.covariance[0].cpu(), "full_trace": full.trace[:, 0].cpu()}
