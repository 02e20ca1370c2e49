"""Scores for models with no encoder to trust (objective 'sri', and any model scored without its q(z|x)).

-log p(x): importance sampling with an explicit proposal fitted per example to Langevin chains.
  1. For each x run `chains` MALA chains on log p(x, z) at temperature 1 (the exact posterior's chain, with the
     Metropolis correction), from N(0, I), for `steps` steps.
  2. Fit a diagonal Gaussian to the chains' end points (their mean and variance, the variance widened by
     `widen`² and floored), and make it defensive (vaelab.inference.families.defensive_proposal: a mixture with a
     wider copy and the prior, so the weights have finite variance).
  3. log p(x) ≈ logsumexp_k log[p(x, z_k) / r(z_k)] - log K with z_k ~ r.
  Any explicit proposal r gives an estimate whose expectation is <= log p(x) (Jensen) and which converges to
  log p(x) as K grows: a valid stochastic lower bound. The chains only *choose* r; no chain sample enters the
  weights, so the chains' short-run bias cannot bias the estimate, only its variance.
With a latent EBM prior p_a(z) = exp(f_a(z)) N(z; 0, I) / Z_a the weights use the unnormalised prior and
log Z_a = log E_N(0,I)[exp f_a] is subtracted: its Monte Carlo estimate and standard error are reported apart
(the same error shifts every example). Then the result is no longer a lower bound: the estimate of log Z_a is
itself biased low (Jensen, by about se²/2), so subtracting it biases log p(x) *up*; and when exp f_a puts its mass
where N(0, I) rarely draws, the effective sample size collapses and the reported se understates the error.

KL-free collapse diagnostics: E[z|x] is estimated by the chains' mean; active units count the dimensions whose
variance over x of E[z|x], less the chain mean's own Monte Carlo variance, exceeds 0.01 (Burda et al. 2016's rule
with E[z|x] in place of the encoder's mean).
"""
from __future__ import annotations

import torch

from ..checks import check_finite, check_float, check_int
from ..inference.families import defensive_proposal
from ..inference.langevin import posterior_langevin
from ..models.distributions import DiagGaussian
from .likelihood import iw_log_px, mean_se

MIN_VAR = 1e-4
AU_THRESHOLD = 0.01   # Burda et al. (2016)


@torch.no_grad()
def chain_posteriors(model, x: torch.Tensor, *, chains: int = 8, steps: int = 200, step_size: float = 0.1,
                     seed: int = 0, batch_size: int = 250) -> dict:
    """{'mean': E[z|x] (N, d), 'var': Var[z|x] (N, d), 'accept_rate': mean MALA acceptance} from `chains` MALA
    chains per example at temperature 1, started at N(0, I)."""
    check_finite("x", x)
    check_int("chains", chains, 2)
    check_int("steps", steps, 1)
    check_float("step_size", step_size, 0.0, strict=True)
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, 0))
    means, variances, accept = [], [], []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        rep = xb.repeat_interleave(chains, 0)
        res = posterior_langevin(model, rep, steps=steps, step_size=step_size, temperature=1.0, mala=True,
                                 prior=model.prior, generator=gen)
        z = res.z.view(xb.shape[0], chains, -1)
        means.append(z.mean(1))
        variances.append(z.var(1, unbiased=True))
        accept.append(res.accept_rate)
    return {"mean": torch.cat(means), "var": torch.cat(variances), "accept_rate": float(torch.cat(accept).mean())}


def chain_active_units(mean: torch.Tensor, var: torch.Tensor, chains: int,
                       threshold: float = AU_THRESHOLD) -> tuple[int, torch.Tensor]:
    """Active units from chain estimates: (count, per-dimension variance over x of E[z|x] minus its Monte Carlo
    noise mean_x Var[z|x] / chains: a chain mean of `chains` draws varies over x even for an unused unit).
    mean, var: (N, d) from chain_posteriors."""
    check_int("chains", chains, 2)
    signal = mean.var(0, unbiased=True) - var.mean(0) / chains
    return int((signal > threshold).sum()), signal


def langevin_proposal(chained: dict, widen: float = 1.5):
    """The defensive Gaussian proposal fitted to chain_posteriors' output (variance widened by widen²)."""
    check_float("widen", widen, 1.0)
    var = (chained["var"] * widen ** 2).clamp_min(MIN_VAR)
    return defensive_proposal(DiagGaussian(chained["mean"], var.log()))


@torch.no_grad()
def log_partition_of(model, n_samples: int = 100_000, seed: int = 0) -> tuple[float, float]:
    """(log Z_a, its standard error) of the model's EBM prior; (0.0, 0.0) for N(0, I)."""
    if model.prior is None:
        return 0.0, 0.0
    return model.prior.log_partition(n_samples, generator=torch.Generator(model.device).manual_seed(seed))


def langevin_is_log_px(model, x: torch.Tensor, chained: dict, *, iw_samples: int, seed: int = 0,
                       log_z: float = 0.0) -> torch.Tensor:
    """Per-example importance-sampling estimate of log p(x), (N,) nats: K = iw_samples draws from the defensive
    Gaussian fitted to `chained` (chain_posteriors(model, x, ...)), less log_z (the EBM prior's log Z_a; 0 for
    N(0, I)). For N(0, I) a stochastic lower bound on log p(x) per example (module docstring)."""
    log_prior = None if model.prior is None else model.prior.log_prob_unnormalised
    with torch.no_grad():
        return iw_log_px(model, x, iw_samples, seed=seed, proposal=langevin_proposal(chained),
                         log_prior=log_prior) - log_z


def encoder_free_report(model, x: torch.Tensor, *, iw_samples: int = 1000, chains: int = 8, steps: int = 200,
                        step_size: float = 0.1, seed: int = 0, log_z_samples: int = 100_000) -> dict:
    """iw_nll (±se over examples), log_z and log_z_se (EBM prior; 0 for N(0, I)), active_units (from E[z|x]),
    posterior_var (mean Var[z|x]), accept_rate, n, iw_samples, chains, steps, and posterior_means (the chains'
    E[z|x], (N, d): what a linear probe of an encoder-free model reads). See the module docstring."""
    model.eval()
    chained = chain_posteriors(model, x, chains=chains, steps=steps, step_size=step_size, seed=seed)
    log_z, log_z_se = log_partition_of(model, log_z_samples, seed)
    log_px = langevin_is_log_px(model, x, chained, iw_samples=iw_samples, seed=seed + 1, log_z=log_z)
    nll, nll_se = mean_se(-log_px)
    au, _ = chain_active_units(chained["mean"], chained["var"], chains)
    return {"iw_nll": nll, "iw_nll_se": nll_se, "log_z": log_z, "log_z_se": log_z_se, "active_units": au,
            "posterior_var": float(chained["var"].mean()), "accept_rate": chained["accept_rate"],
            "n": int(x.shape[0]), "iw_samples": iw_samples, "chains": chains, "steps": steps,
            "posterior_means": chained["mean"]}
