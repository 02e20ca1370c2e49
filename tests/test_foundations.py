"""The foundations of notebooks 01 and 03 against ground truth: the two gradient estimators against closed-form
means and variances, the importance-weighted bound and AIS against the exact log p(x) and ELBO of probabilistic
PCA, and the exercises' references against the package."""
import math

import numpy as np
import pytest
import torch
from helpers import ppca_log_px, ppca_vae, ppca_vae_correlated

from vaelab import plots, solutions
from vaelab.metrics import iw_log_px, mean_se
from vaelab.metrics.foundations import ais_repeats, estimate_error, gradient_estimates, iw_bound_curve
from vaelab.models import DiagGaussian
from vaelab.objectives import log_importance_weights


# -- gradient estimators: d/dμ E_{N(μ, σ²)}[f(z)] -----------------------------------------------------------------
@pytest.mark.parametrize("mu, sigma", [(2.0, 1.0), (-0.5, 0.3)])
def test_both_gradient_estimators_of_z_squared_are_unbiased_with_the_closed_form_variances(mu, sigma):
    n = 200_000
    g = gradient_estimates(lambda z: z ** 2, mu, sigma, n, seed=1)
    # pathwise: f'(z) = 2z, so mean 2μ and variance 4σ²; score: z² (z − μ)/σ², mean 2μ and variance
    # E[(μ + σε)^4 ε²]/σ² − 4μ² = μ⁴/σ² + 14 μ² + 15 σ² (moments of ε: E ε² = 1, E ε⁴ = 3, E ε⁶ = 15)
    want_var = {"pathwise": 4 * sigma ** 2, "score": mu ** 4 / sigma ** 2 + 14 * mu ** 2 + 15 * sigma ** 2}
    for name, var in want_var.items():
        mean, se = mean_se(g[name])
        assert abs(mean - 2 * mu) < 4 * se, (name, mean, se)
        assert float(g[name].var()) == pytest.approx(var, rel=0.05), name
    torch.testing.assert_close(g["pathwise"], 2 * g["z"])                    # per draw, not only on average
    torch.testing.assert_close(g["score"], g["z"] ** 2 * g["eps"] / sigma)


def test_gradient_estimators_of_a_sine():
    # d/dμ E[sin z] = d/dμ (sin μ · exp(−σ²/2)) = cos μ · exp(−σ²/2)
    mu, sigma = 0.7, 0.8
    g = gradient_estimates(torch.sin, mu, sigma, 100_000, seed=2)
    exact = math.cos(mu) * math.exp(-sigma ** 2 / 2)
    for name in ("pathwise", "score"):
        mean, se = mean_se(g[name])
        assert abs(mean - exact) < 4 * se, (name, mean, exact)
    assert float(g["pathwise"].std()) < float(g["score"].std())


def test_gradient_estimates_repeat_with_the_seed_and_name_bad_input():
    a, b = gradient_estimates(torch.sin, 0.0, 1.0, 50, seed=3), gradient_estimates(torch.sin, 0.0, 1.0, 50, seed=3)
    assert torch.equal(a["score"], b["score"])
    with pytest.raises(ValueError, match="sigma must be in"):
        gradient_estimates(torch.sin, 0.0, 0.0, 10)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        gradient_estimates(torch.sin, 0.0, 1.0, 0)
    with pytest.raises(TypeError, match="f must be a callable"):
        gradient_estimates(3.0, 0.0, 1.0, 10)


# -- the importance-weighted bound and AIS against probabilistic PCA --------------------------------------------
def ppca_elbo(model, x, W, b, s2):
    """The exact ELBO of the encoder's q for a linear-Gaussian decoder N(Wz + b, s2 I):
    E_q log p(x|z) = −D/2 log(2π s2) − (‖x − Wμ − b‖² + Σ_j σ_j² ‖W_j‖²) / (2 s2), minus the closed-form KL."""
    q = model.encode(x)
    mu, var = q.mu.detach().double(), q.logvar.detach().double().exp()
    W, b = W.double(), b.double()
    D = W.shape[0]
    resid = ((x.double() - mu @ W.T - b) ** 2).sum(-1) + (var * (W ** 2).sum(0)).sum(-1)
    rec = -0.5 * D * math.log(2 * math.pi * s2) - resid / (2 * s2)
    kl = 0.5 * (mu ** 2 + var - 1 - var.log()).sum(-1)
    return rec - kl


def correlated_with_a_diagonal_encoder():
    """pPCA with a correlated posterior N(A (x − b), s2 M⁻¹) and an encoder set to its mean and its marginal
    variances: a diagonal q that covers the posterior, so the ELBO is loose and importance sampling converges."""
    model, W, b, s2 = ppca_vae_correlated()
    d, D = W.shape[1], W.shape[0]
    M = W.T @ W + s2 * torch.eye(d)
    A = torch.linalg.solve(M, W.T)
    with torch.no_grad():
        model.encoder.net[0].weight.copy_(torch.cat([A, torch.zeros(d, D)]))
        model.encoder.net[0].bias.copy_(torch.cat([-A @ b, torch.log(s2 * torch.diagonal(torch.linalg.inv(M)))]))
    return model, W, b, s2


def test_iw_bound_climbs_from_the_elbo_towards_log_px():
    model, W, b, s2 = correlated_with_a_diagonal_encoder()
    x = torch.randn(5, 5, generator=torch.Generator().manual_seed(3)) * 2 + b
    sizes = [1, 10, 100, 1000]
    out = iw_bound_curve(model, x, sizes, repeats=100, seed=0)
    assert out["estimates"].shape == (4, 100, 5) and out["bound"].shape == (4, 5)
    exact, elbo = ppca_log_px(x, W, b, s2).double(), ppca_elbo(model, x, W, b, s2)
    bound, se = out["bound"].mean(1), torch.sqrt((out["se"] ** 2).sum(1)) / 5          # mean over the 5 points
    assert abs(float(bound[0] - elbo.mean())) < 3 * float(se[0])                      # ℒ_1 is the ELBO
    assert bool((bound.diff() > 0).all())                                              # increasing in S
    assert float(bound[-1] - bound[0]) > 5 * float(se[0])
    assert bool((out["bound"] <= exact + 3 * out["se"]).all())                         # never above log p(x)
    err, err_se = estimate_error(out["estimates"][-1], exact)
    assert abs(err) < 3 * err_se + 1e-3 and float((exact - elbo).mean()) > 0.3        # tight at S = 1000


def test_iw_bound_with_the_exact_posterior_as_proposal_is_tight_at_every_s():
    # with q = p(z|x) every weight equals p(x): ℒ_S = log p(x) for every S, with no spread at all
    model, W, b, s2 = ppca_vae()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(5)) + b
    out = iw_bound_curve(model, x, [1, 7], repeats=3)
    exact = ppca_log_px(x, W, b, s2).double()
    torch.testing.assert_close(out["bound"], exact.expand(2, 4), atol=2e-4, rtol=0)
    assert float(out["se"].max()) < 1e-4


def test_ais_approaches_log_px_as_the_number_of_distributions_grows():
    model, W, b, s2 = ppca_vae_correlated()
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(6)) * 2 + b
    out = ais_repeats(model, x, [2, 200], repeats=4, n_chains=16, leapfrog=3, seed=0)
    exact = ppca_log_px(x, W, b, s2)
    few, many = (estimate_error(out["estimates"][i], exact) for i in range(2))
    assert abs(many[0]) < max(3 * many[1], 0.05), many
    assert few[0] < many[0]                                                           # fewer steps: lower
    assert out["decoder_passes"] == [16 * 2 * 4, 16 * 200 * 4]


def test_estimate_error_by_hand_and_bad_shapes():
    est = torch.tensor([[1.0, 3.0], [3.0, 5.0]])            # per example: means 2 and 4, variances 2 and 2
    err, se = estimate_error(est, torch.tensor([1.0, 5.0]))
    assert err == pytest.approx(((2 - 1) + (4 - 5)) / 2)
    assert se == pytest.approx(math.sqrt(2 / 2 + 2 / 2) / 2)
    with pytest.raises(ValueError, match="estimates must be"):
        estimate_error(torch.ones(2, 3), torch.ones(2))
    with pytest.raises(ValueError, match="sizes is empty"):
        iw_bound_curve(ppca_vae()[0], torch.zeros(1, 5), [])


# -- the exercises' references --------------------------------------------------------------------------------
def test_reparam_sample_is_the_library_draw_and_differentiable():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(6, 3, generator=gen), torch.randn(6, 3, generator=gen)
    eps = torch.randn(6, 3, generator=torch.Generator().manual_seed(9))
    lib = DiagGaussian(mu, logvar).rsample(generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(solutions.reparam_sample(mu, logvar, eps), lib)
    mu, logvar = mu.requires_grad_(), logvar.requires_grad_()
    weights = torch.randn(6, 3, generator=gen)
    gm, gl = torch.autograd.grad((weights * solutions.reparam_sample(mu, logvar, eps)).sum(), (mu, logvar))
    torch.testing.assert_close(gm, weights)                                        # dz/dμ = 1
    torch.testing.assert_close(gl, weights * 0.5 * torch.exp(0.5 * logvar.detach()) * eps)   # dz/dlogσ² = ½σε


def test_iwae_bound_by_hand_and_against_the_package_estimator():
    log_w = torch.tensor([[0.0, -1.0], [math.log(3.0), -3.0]], dtype=torch.float64)   # S = 2, N = 2
    by_hand = (math.log((1 + 3) / 2) + math.log((math.exp(-1) + math.exp(-3)) / 2)) / 2
    assert solutions.iwae_bound(log_w) == pytest.approx(by_hand)
    assert solutions.iwae_bound(log_w[:1]) == pytest.approx(float(log_w[0].mean()))   # S = 1: the mean log w
    # the same draws: log_importance_weights and iw_log_px both take rsample(S) from one generator
    model, _, b, _ = ppca_vae_correlated()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(1)) + b
    with torch.no_grad():
        lw, _, _ = log_importance_weights(model, x, 50, generator=torch.Generator().manual_seed(4))
    lib = iw_log_px(model, x, 50, chunk=50, generator=torch.Generator().manual_seed(4))
    assert solutions.iwae_bound(lw) == pytest.approx(float(lib.mean()), abs=1e-5)


# -- the figures draw what they are given -----------------------------------------------------------------------
def test_gradient_estimator_view_marks_the_exact_value_and_counts_every_estimate():
    v = {"score": torch.randn(500, generator=torch.Generator().manual_seed(0)) * 9 + 4,
         "pathwise": torch.randn(500, generator=torch.Generator().manual_seed(1)) * 2 + 4}
    fig = plots.gradient_estimator_view({k: (x, 4.0, 0.1) for k, x in v.items()}, exact=4.0)
    for ax, x in zip(fig.axes, v.values()):
        exact = [ln for ln in ax.get_lines() if ln.get_label().startswith("exact")]
        assert len(exact) == 1 and float(np.unique(exact[0].get_xdata())[0]) == 4.0
        counted = sum(p.get_height() for p in ax.patches)
        beyond = int(ax.get_legend().get_texts()[0].get_text().split("(")[1].split()[0]) \
            if "beyond" in ax.get_legend().get_texts()[0].get_text() else 0
        assert counted + beyond == len(x)
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()                      # one shared x-axis


def test_iw_bound_view_draws_the_bound_and_the_reference_line():
    sizes = [1, 10, 100]
    fig = plots.iw_bound_view(sizes, [{"title": "a", "bound": [-42.0, -41.0, -40.5], "se": [0.2, 0.1, 0.05],
                                       "log_px": -40.2}])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    (curve,) = [ln for ln in ax.get_lines() if "bound" in ln.get_label()]
    np.testing.assert_allclose(curve.get_ydata(), [-42.0, -41.0, -40.5])
    (ref,) = [ln for ln in ax.get_lines() if "log p(x)" in ln.get_label()]
    assert float(np.unique(ref.get_ydata())[0]) == -40.2
    with pytest.raises(ValueError, match="length len"):
        plots.iw_bound_view(sizes, [{"title": "a", "bound": [1.0], "se": [0.1], "log_px": 0.0}])
