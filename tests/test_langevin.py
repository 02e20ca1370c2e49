"""Langevin chains (ULA, MALA, temperature, short runs) against the closed-form posterior of probabilistic PCA.

A ULA chain on a Gaussian target is linear, so its law after any number of steps is an exactly computable Gaussian
(gaussian_langevin_law); at a constant step s its fixed point has the eigenvalues λ/(1 − s²/(4λ)) instead of the
target's λ. That derivation is the discretisation allowance: sampled chains are checked against it within Monte
Carlo error (4 standard errors), and it against the truth. Samples are the final states of independent chains."""
import math

import pytest
import torch

from helpers import count_host_reads, ppca_posterior, ppca_vae_correlated

from vaelab.inference import (SRI_STEP_SIZES, gaussian_langevin_law, langevin, log_joint, posterior_langevin,
                              prior_langevin, step_sizes)
from vaelab.models import EBMPrior, build_model


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def ppca_batch(n_x=4, per_x=1000, seed=3):
    """The correlated pPCA model, n_x data points each repeated per_x times, and the true posterior in its
    eigenbasis V: means (n_x, d) @ V and cov V^T cov V = diag(0.042, 0.775) (one stiff, one slow direction).
    Returns (model, x, V, mean, cov); moments(z @ V, ...) compare with these."""
    model, W, b, s2 = ppca_vae_correlated()
    x = torch.randn(n_x, b.shape[0], generator=gen(seed)) * 2 + b
    mean, cov = ppca_posterior(x, W, b, s2)
    V = torch.linalg.eigh(cov.double())[1]
    return model, x.repeat_interleave(per_x, 0), V, mean.double() @ V, V.T @ cov.double() @ V


def moments(z, n_x, basis=None):
    """Per-x means (n_x, d) with their SEs, and the covariance pooled over the x (d, d) with its SE; float64,
    in the coordinates z @ basis when a basis is given."""
    z = z.double() if basis is None else z.double() @ basis
    z = z.reshape(n_x, -1, z.shape[-1])
    n = z.shape[1]
    m = z.mean(1)
    m_se = z.std(1) / math.sqrt(n)
    c = z - m[:, None]
    prods = (c[..., :, None] * c[..., None, :]).reshape(-1, z.shape[-1], z.shape[-1])
    return m, m_se, prods.mean(0) * n / (n - 1), prods.std(0) / math.sqrt(prods.shape[0])


def ula_fixed_point(cov, s, T=1.0):
    """The derived stationary covariance of ULA at a constant step s on N(·, cov): T² Σ λ/(1 − s²/(4λ)) v vᵀ."""
    lam, V = torch.linalg.eigh(cov)
    return T ** 2 * (V * (lam / (1 - s * s / (4 * lam)))) @ V.T


# -- the step-size schedules ----------------------------------------------------------------------------------------
def test_step_size_schedules():
    assert torch.allclose(step_sizes(0.3, 4), torch.full((4,), 0.3))
    assert torch.allclose(step_sizes([0.5, 0.25, 0.125], 3), torch.tensor([0.5, 0.25, 0.125]))
    assert torch.allclose(step_sizes(("linear", 0.8, 0.05), 4), torch.tensor([0.8, 0.55, 0.3, 0.05]))
    assert torch.allclose(step_sizes(("geometric", 0.8, 0.05), 5), torch.tensor([0.8, 0.4, 0.2, 0.1, 0.05]))
    assert torch.allclose(step_sizes(("linear", 0.8, 0.05), 1), torch.tensor([0.8]))
    assert step_sizes(SRI_STEP_SIZES, 20).shape == (20,)


@pytest.mark.parametrize("kwargs, names", [
    ({"steps": 0}, "steps"), ({"step_size": 0.0}, "step_size"), ({"step_size": -0.1}, "step_size"),
    ({"step_size": [0.1, 0.2]}, "step_size"), ({"step_size": ("cosine", 0.8, 0.05)}, "step_size schedule"),
    ({"step_size": ("linear", 0.8, 0.0)}, "step_size end"), ({"step_size": float("nan")}, "step_size"),
    ({"temperature": -0.5}, "temperature"), ({"temperature": 0.0, "mala": True}, "mala"),
    ({"z0": torch.zeros(3)}, "z0"), ({"z0": torch.zeros(3, 2, dtype=torch.long)}, "z0"),
    ({"log_prob": lambda z: -(z ** 2).sum()}, "log_prob"),
])
def test_wrong_input_names_the_argument(kwargs, names):
    args = {"log_prob": lambda z: -0.5 * (z ** 2).sum(-1), "z0": torch.zeros(3, 2), "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=names):
        langevin(args.pop("log_prob"), args.pop("z0"), **args)


def test_posterior_and_prior_chains_check_their_starts():
    model, x, *_ = ppca_batch(1, 3)
    with pytest.raises(ValueError, match="z0"):
        posterior_langevin(model, x, z0=torch.zeros(3, 5))
    prior = EBMPrior(2, hidden=(4,))
    with pytest.raises(ValueError, match="exactly one of n"):
        prior_langevin(prior)
    with pytest.raises(ValueError, match="exactly one of n"):
        prior_langevin(prior, 3, z0=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="z0"):
        prior_langevin(prior, z0=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="n must"):
        prior_langevin(prior, 0)


# -- the update itself ----------------------------------------------------------------------------------------------
def test_a_noiseless_step_moves_half_s_squared_along_the_gradient():
    # log p = -|z - mu|^2 / (2 sigma^2): grad = (mu - z) / sigma^2, so one T = 0 step is z + s^2 (mu - z) / (2 sigma^2).
    mu, sigma2, s = torch.tensor([1.0, -2.0]), 4.0, 0.5
    z0 = torch.tensor([[0.0, 0.0], [3.0, 1.0]])
    r = langevin(lambda z: -((z - mu) ** 2).sum(-1) / (2 * sigma2), z0, steps=1, step_size=s, temperature=0.0)
    assert torch.allclose(r.z, z0 + s * s * (mu - z0) / (2 * sigma2))
    far = langevin(lambda z: -((z - mu) ** 2).sum(-1) / (2 * sigma2), z0, steps=400, step_size=s, temperature=0.0)
    assert torch.allclose(far.z, mu.expand_as(z0), atol=1e-4)             # gradient ascent reaches the mode


def test_log_joint_is_the_ppca_joint_density():
    model, W, b, s2 = ppca_vae_correlated()
    x, z = torch.randn(6, 5, generator=gen(1)), torch.randn(6, 2, generator=gen(2))
    truth = (torch.distributions.Normal(z @ W.T + b, math.sqrt(s2)).log_prob(x).sum(-1)
             + torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1))
    assert torch.allclose(log_joint(model, x)(z), truth, atol=1e-4)
    flat = EBMPrior(2, hidden=(8,))
    with torch.no_grad():
        flat.net[-1].weight.zero_()
        flat.net[-1].bias.fill_(0.7)                                     # f = 0.7: a constant shift only
    assert torch.allclose(log_joint(model, x, flat)(z), truth + 0.7, atol=1e-4)


def test_chains_are_detached_reproducible_and_traced():
    model, x, *_ = ppca_batch(2, 5)
    a = posterior_langevin(model, x, steps=7, step_size=0.2, mala=True, generator=gen(5), trace=True)
    b = posterior_langevin(model, x, steps=7, step_size=0.2, mala=True, generator=gen(5))
    assert torch.equal(a.z, b.z) and not a.z.requires_grad
    assert a.trace.shape == (8, 10, 2) and torch.equal(a.trace[-1], a.z)
    assert a.accept_rate.shape == (10,) and ((a.accept_rate >= 0) & (a.accept_rate <= 1)).all()
    assert b.trace is None and posterior_langevin(model, x, steps=2).accept_rate is None
    assert all(p.grad is None for p in model.parameters())              # no gradient reached the decoder
    z0 = torch.randn(10, 2, generator=gen(6))
    c = posterior_langevin(model, x, steps=3, z0=z0, trace=True)
    assert torch.equal(c.trace[0], z0)
    binary = build_model("mlp", (6,), 2, hidden=(8,))                      # Bernoulli: autograd saves x
    with torch.inference_mode():
        xb = (torch.rand(4, 6) > 0.5).float()
        out = posterior_langevin(binary, xb, steps=3, generator=gen(7))
    assert out.z.shape == (4, 2) and torch.isfinite(out.z).all()


def test_the_chain_never_waits_for_the_device(monkeypatch):
    """No host read inside the loop: the count of tensor reads does not grow with the number of steps."""
    reads = count_host_reads(monkeypatch)
    model, x, *_ = ppca_batch(2, 4)
    prior = EBMPrior(2, hidden=(8,))
    counts = {}
    for steps in (3, 30):
        for mala in (False, True):
            reads["n"] = 0
            posterior_langevin(model, x, steps=steps, step_size=("linear", 0.5, 0.05), mala=mala, prior=prior)
            prior_langevin(prior, 8, steps=steps, mala=mala, generator=gen(1))
            counts[steps, mala] = reads["n"]
    assert counts[3, False] == counts[30, False] and counts[3, True] == counts[30, True], counts


# -- against the truth ----------------------------------------------------------------------------------------------
def test_the_gaussian_law_reaches_its_derived_fixed_point():
    *_, mean, cov = ppca_batch(2, 1)
    for s, T in ((0.1, 1.0), (0.3, 0.5)):
        m, C = gaussian_langevin_law(mean, cov, steps=6000, step_size=s, temperature=T)
        assert torch.allclose(m, mean, atol=1e-8)                  # ULA's mean is unbiased on a Gaussian target
        assert torch.allclose(C, ula_fixed_point(cov, s, T), atol=1e-8)


def test_ula_with_small_steps_samples_the_ppca_posterior():
    n_x, s, steps = 4, 0.1, 1500
    model, x, V, mean, cov = ppca_batch(n_x)
    r = posterior_langevin(model, x, steps=steps, step_size=s, generator=gen(11))
    m, m_se, c, c_se = moments(r.z, n_x, V)
    law_m, law_c = gaussian_langevin_law(mean, cov, steps=steps, step_size=s)
    # the sample matches the chain's exact law within Monte Carlo error ...
    assert ((m - law_m).abs() < 4 * m_se).all() and ((c - law_c).abs() < 4 * c_se).all()
    # ... and the truth within that error plus the derived discretisation allowance, which is small:
    allowance_m, allowance_c = (law_m - mean).abs(), (law_c - cov).abs()
    assert ((m - mean).abs() < 4 * m_se + allowance_m).all() and ((c - cov).abs() < 4 * c_se + allowance_c).all()
    assert allowance_m.max() < 1e-3 and (allowance_c / cov.diagonal().min()).max() < 0.07


def test_mala_is_exact_at_a_step_where_ula_is_visibly_biased():
    # s = 0.25: s^2 / (4 * 0.042) = 0.37, so ULA inflates the stiff posterior direction by 1/(1 - 0.37) = 1.6x.
    n_x, s, steps = 4, 0.25, 400
    model, x, V, mean, cov = ppca_batch(n_x)
    ula = posterior_langevin(model, x, steps=steps, step_size=s, generator=gen(12))
    mala = posterior_langevin(model, x, steps=steps, step_size=s, mala=True, generator=gen(13))
    _, _, c_ula, se_ula = moments(ula.z, n_x, V)
    m, m_se, c, c_se = moments(mala.z, n_x, V)
    assert ((c_ula - cov).abs() / se_ula).max() > 10                          # ULA: biased by > 10 SE
    assert ((c_ula - ula_fixed_point(cov, s)).abs() < 4 * se_ula).all()      # by the derived amount
    assert ((m - mean).abs() < 4 * m_se).all() and ((c - cov).abs() < 4 * c_se).all()
    assert 0.3 < mala.accept_rate.mean() < 1.0


def bias(m, C, mean, cov):
    """The short-run law's distance to the truth: (max |mean error| over x, max |cov error|)."""
    return (m - mean).abs().max().item(), (C - cov).abs().max().item()


def test_the_short_run_bias_is_measured_and_shrinks_with_more_steps():
    # SRI's schedule (0.8 down to 0.05 over 20 steps) from the prior, at T = 1: not yet the posterior.
    n_x = 4
    model, x, V, mean, cov = ppca_batch(n_x)
    r = posterior_langevin(model, x, steps=20, step_size=SRI_STEP_SIZES, generator=gen(14))
    m, m_se, c, c_se = moments(r.z, n_x, V)
    law_m, law_c = gaussian_langevin_law(mean, cov, steps=20, step_size=SRI_STEP_SIZES)
    assert ((m - law_m).abs() < 4 * m_se).all() and ((c - law_c).abs() < 4 * c_se).all()    # the law is measured
    assert max(((m - mean).abs() / m_se).max(), ((c - cov).abs() / c_se).max()) > 10           # and biased
    errors = []
    for steps in (20, 100, 500, 5000):
        sizes = list(SRI_STEP_SIZES) + [0.05] * (steps - 20)
        errors.append(bias(*gaussian_langevin_law(mean, cov, steps=steps, step_size=sizes), mean, cov))
    mean_err, cov_err = zip(*errors)
    assert all(a > b for a, b in zip(mean_err, mean_err[1:])) and all(a > b for a, b in zip(cov_err, cov_err[1:]))
    # SRI's first steps (s = 0.8 .. 0.5) exceed the stability limit s^2 < 4 * 0.042 of the stiff direction: they
    # overshoot (x 6.6, 4.8, 3.3, 2.0), and the 16 small steps after them do not undo it: far off after 20 steps.
    assert mean_err[0] > 1 and cov_err[0] > 1 and mean_err[-1] < 0.01 and cov_err[-1] < 0.01


@pytest.mark.parametrize("T", [0.5, 2.0])
def test_temperature_targets_the_tempered_density(T):
    # On N(mu, diag(var)), p^(1/T^2) is N(mu, T^2 diag(var)). MALA samples it exactly; ULA follows its exact law.
    mu, var = torch.tensor([1.0, -1.0]), torch.tensor([0.5, 2.0])
    log_p = lambda z: -0.5 * ((z - mu) ** 2 / var).sum(-1)   # noqa: E731
    z0 = torch.zeros(4000, 2)
    z = langevin(log_p, z0, steps=300, step_size=0.3, temperature=T, mala=True, generator=gen(15)).z.double()
    n = z.shape[0]
    assert ((z.mean(0) - mu).abs() < 4 * (T * T * var / n).sqrt()).all()
    dev = (z - z.mean(0)) ** 2
    assert ((dev.mean(0) - T * T * var).abs() < 4 * dev.std(0) / math.sqrt(n)).all()
    assert ((dev.mean(0) - var).abs() > 10 * dev.std(0) / math.sqrt(n)).all()           # not the untempered p
    u = langevin(log_p, z0, steps=60, step_size=0.3, temperature=T, generator=gen(16)).z.double()
    law_m, law_c = gaussian_langevin_law(mu, torch.diag(var), steps=60, step_size=0.3, temperature=T,
                                         z0_cov=torch.zeros(2, 2))          # started at z0 = 0
    m, m_se, c, c_se = moments(u, 1)
    assert ((m - law_m).abs() < 4 * m_se).all() and ((c - law_c).abs() < 4 * c_se).all()
