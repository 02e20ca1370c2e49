"""The gap decomposition against closed forms (probabilistic PCA) and its CLI."""
import json
import math
import statistics
import warnings

import pytest
import torch
from helpers import ppca_log_px, ppca_posterior, ppca_vae, ppca_vae_correlated, vaelab_cli as cli

from vaelab.inference import FullGaussian
from vaelab.inference.families import defensive_proposal
from vaelab.metrics import GAP_KEYS, inference_gaps, iw_log_px
from vaelab.metrics.gaps import ConvergenceWarning
from vaelab.models import DiagGaussian


def data(b, n=40, seed=5):
    return torch.randn(n, b.shape[0], generator=torch.Generator().manual_seed(seed)) * 2 + b


def kl_gauss(m1, c1, m2, c2):
    """KL(N(m1, c1) || N(m2, c2)) for (N, d) means and (N, d, d) or (d, d) covariances, by the textbook formula."""
    p = torch.distributions.MultivariateNormal
    return torch.distributions.kl_divergence(p(m1, c1), p(m2, c2))


def test_iw_with_the_exact_posterior_as_proposal_is_exact_with_one_sample():
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=10)
    mean, cov = ppca_posterior(x, W, b, s2)
    post = FullGaussian(mean, torch.linalg.cholesky(cov).expand(10, 2, 2))
    est = iw_log_px(model, x, 1, proposal=post)
    assert torch.allclose(est, ppca_log_px(x, W, b, s2), atol=1e-3)


def se(t):
    """Standard error of the mean of t (N,), by hand: sample standard deviation / sqrt(N)."""
    return statistics.stdev(t.double().tolist()) / math.sqrt(t.numel())


def test_gaps_of_a_correlated_linear_gaussian_model_match_the_closed_form():
    model, W, b, s2 = ppca_vae_correlated()            # random encoder, correlated posterior
    x = data(b)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)      # converged: no warning
        g = inference_gaps(model, x, iw_samples=2000, steps=800, lr=0.05, lr_end=0.0005, opt_samples=20,
                           elbo_samples=4000)
    per = g["per_example"]
    mean, cov = ppca_posterior(x, W, b, s2)
    err = per["log_px"] - ppca_log_px(x, W, b, s2)
    # importance sampling: relative weight variance <= 1/0.8 - 1 with q*_full = the posterior, so each error
    # has sd <= 0.011 at K = 2000; the mean error is Monte Carlo noise (4 SE)
    assert abs(float(err.mean())) < 4 * se(err) and float(err.abs().max()) < 0.1
    # Full covariance: the family holds the posterior, so its approximation gap is 0 (within 4 SE, SE < 0.01).
    assert abs(g["approximation_gap_fullcov"]) < 4 * g["approximation_gap_fullcov_se"] < 0.04
    # Diagonal q*: gap = KL(q* || p(z|x)) with q* = N(mean, diag(1 / P_jj)), P the posterior precision.
    qstar_var = 1 / torch.diagonal(torch.linalg.inv(cov))
    approx = kl_gauss(mean, torch.diag(qstar_var), mean, cov)
    assert float(approx.mean()) > 0.05
    diff = per["approximation_gap"] - approx
    assert abs(float(diff.mean())) < 4 * se(diff) + 0.005        # + the optimiser's residual
    # Amortization gap: KL(q || p(z|x)) - KL(q* || p(z|x)), q the (random) encoder's answer.
    with torch.no_grad():
        q = model.encode(x)
    amort = kl_gauss(q.mu, torch.diag_embed(q.logvar.exp()), mean, cov) - approx
    assert g["amortization_gap"] == pytest.approx(float(amort.mean()), rel=0.02)
    assert set(GAP_KEYS) <= set(g)
    assert g["log_px"] - g["elbo_q"] == pytest.approx(g["approximation_gap"] + g["amortization_gap"], abs=1e-4)
    assert g["qstar_converged"] == 1.0 and g["qstar_fullcov_converged"] == 1.0


def test_an_exact_encoder_has_no_amortization_gap_and_gaps_are_nonnegative():
    model, W, b, s2 = ppca_vae(exact_encoder=True)       # orthogonal W: diagonal posterior, exact encoder
    x = data(b)
    g = inference_gaps(model, x, iw_samples=500, steps=200, lr=0.02, lr_end=0.0002, elbo_samples=4000)
    # the amortization gap is a difference on common draws: only the optimiser's residual remains
    assert abs(g["amortization_gap"]) < 0.01
    for key in ("approximation_gap", "approximation_gap_fullcov"):          # importance-sampling noise
        assert abs(g[key]) < 4 * g[key + "_se"] < 0.04, (key, g[key], g[key + "_se"])
    err = g["per_example"]["log_px"] - ppca_log_px(x, W, b, s2)
    assert abs(float(err.mean())) < 4 * se(err) < 0.04


def test_the_diagonal_q_star_reads_log_px_low_on_a_correlated_posterior_and_the_defensive_mixture_does_not():
    # Posterior correlation -0.89: the diagonal q* = N(m, diag(1 / P_jj)) is narrower than the posterior
    # along the correlation, so its importance weights have infinite variance (2 P - diag P is not positive
    # definite) and log p(x) comes out low by far more than its noise.
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=200, seed=7)
    mean, cov = ppca_posterior(x, W, b, s2)
    qdiag = DiagGaussian(mean, (-torch.log(torch.diagonal(torch.linalg.inv(cov)))).expand_as(mean))
    exact = ppca_log_px(x, W, b, s2)
    old = iw_log_px(model, x, 1000, seed=1, proposal=qdiag) - exact
    assert float(old.mean()) < -4 * se(old)                       # measured: -9.2 SE; the mixture: +1.3 SE
    new = iw_log_px(model, x, 1000, seed=1, proposal=defensive_proposal(qdiag)) - exact
    assert abs(float(new.mean())) < 4 * se(new)
    # inference_gaps without the full-covariance fit uses the mixture around its diagonal q*
    # (measured: mean error -0.3 SE; with q* itself as the proposal, -7.3 SE)
    g = inference_gaps(model, x, iw_samples=1000, fullcov=False, elbo_samples=50)
    err = g["per_example"]["log_px"] - exact
    assert abs(float(err.mean())) < 4 * se(err)


def test_the_defensive_mixture_has_the_density_it_samples_from():
    # r's log_prob against its draws: E_r[1 / r(z)] over a box is its volume only if r is r; here a moment
    # check: the mixture mean and covariance against the weighted component moments, 4 SE per coordinate.
    mu = torch.tensor([[1.0, -2.0]])
    q = FullGaussian(mu, torch.tensor([[[0.5, 0.0], [0.3, 0.2]]]))
    r = defensive_proposal(q, scale=3.0, weights=(0.6, 0.3, 0.1))
    z = r.rsample(200000, generator=torch.Generator().manual_seed(0))[:, 0]
    cov_q = q.covariance[0]
    mean = 0.9 * mu[0]
    second = 0.6 * (cov_q + mu[0, :, None] * mu[0]) + 0.3 * (9 * cov_q + mu[0, :, None] * mu[0]) + 0.1 * torch.eye(2)
    assert ((z.mean(0) - mean).abs() < 4 * z.std(0) / math.sqrt(z.shape[0])).all()
    emp = (z[:, :, None] * z[:, None]).mean(0)
    se2 = (z[:, :, None] * z[:, None]).std(0) / math.sqrt(z.shape[0])
    assert ((emp - second).abs() < 4 * se2).all()
    # and log_prob integrates to 1: importance sampling of the integral of r under a broad Gaussian
    g = torch.distributions.MultivariateNormal(torch.zeros(2), 25 * torch.eye(2))
    u = g.sample((200000,))
    ratio = (r.log_prob(u[:, None]) [:, 0] - g.log_prob(u)).exp()
    assert abs(float(ratio.mean()) - 1) < 4 * float(ratio.std()) / math.sqrt(u.shape[0])
    assert r[0:1].mu.shape == (1, 2)
    with pytest.raises(ValueError, match="weights must be three numbers"):
        defensive_proposal(q, weights=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="scale must be in"):
        defensive_proposal(q, scale=0.5)


def test_a_full_covariance_fit_that_ends_below_q_star_is_replaced_by_q_star():
    # q* = the encoder's q = the exact (diagonal) posterior (steps=0); the full-covariance fit then takes one
    # Adam step of 0.2 in every parameter (fullcov_steps=1, lr=0.2 constant), which moves it off the
    # posterior: 0.37-0.66 nats below q* on each example (measured on common draws). The family contains q*,
    # so the reported q*_full must be q*: the same ELBO, and q* as the importance-sampling proposal.
    model, W, b, s2 = ppca_vae(exact_encoder=True)
    x = data(b, n=20)
    with pytest.warns(ConvergenceWarning, match="q\\*_full has not converged"):
        g = inference_gaps(model, x, iw_samples=50, steps=0, fullcov_steps=1, lr=0.2, lr_end=None,
                           elbo_samples=200)
    per = g["per_example"]
    assert torch.equal(per["elbo_qstar_fullcov"], per["elbo_qstar"])
    assert torch.equal(per["approximation_gap_fullcov"], per["approximation_gap"])
    with torch.no_grad():
        q = model.encode(x)
    expected = iw_log_px(model, x, 50, batch_size=20, seed=0, proposal=defensive_proposal(FullGaussian.from_diag(q)))
    assert torch.allclose(per["log_px"], expected, atol=1e-5, rtol=0)


def test_an_unconverged_q_star_is_reported_and_warned_about():
    # A random encoder far from the posterior (amortization gap ~30 nats) and only 20 steps: the restarted
    # last leg still climbs on (nearly) every example.
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=20)
    with pytest.warns(ConvergenceWarning, match=r"q\* has not converged for .* Run more steps"):
        g = inference_gaps(model, x, iw_samples=50, steps=20, elbo_samples=50, fullcov=False)
    assert g["qstar_converged"] < 0.5
    gain = g["per_example"]["qstar_gain"]
    assert gain.shape == (20,) and g["qstar_gain"] == pytest.approx(float(gain.mean()))
    assert g["qstar_gain"] > 4 * g["qstar_gain_se"]


def test_mean_se_matches_a_hand_computation():
    from vaelab.metrics.likelihood import mean_se

    m, s = mean_se(torch.tensor([1.0, 2.0, 4.0, 7.0]))
    # mean 14/4; squared deviations 6.25 + 2.25 + 0.25 + 12.25 = 21, variance 21/3 = 7, se = sqrt(7)/sqrt(4)
    assert m == pytest.approx(3.5) and s == pytest.approx(math.sqrt(7) / 2)
    with pytest.raises(ValueError, match="at least 2 values"):
        mean_se(torch.tensor([1.0]))


def test_every_reported_mean_has_its_standard_error_and_gaps_are_paired():
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=12)
    g = inference_gaps(model, x, iw_samples=100, steps=300, elbo_samples=50, ais=True,
                       ais_kwargs=dict(n_chains=4, n_steps=20, leapfrog=2))
    per = g["per_example"]
    for key in (*GAP_KEYS, "log_px_ais", "qstar_gain", "qstar_fullcov_gain"):
        assert g[key + "_se"] == pytest.approx(se(per[key]), rel=1e-5), key
    paired = se(per["log_px"] - per["elbo_qstar"])
    assert g["approximation_gap_se"] == pytest.approx(paired, rel=1e-5)
    # log p(x) and the ELBO vary together across examples: the unpaired SE would be far larger
    assert paired < 0.1 * math.hypot(g["log_px_se"], g["elbo_qstar_se"])
    with pytest.raises(ValueError, match="at least 2 examples"):
        inference_gaps(model, x[:1])


def test_gaps_of_a_trained_vae_are_nonnegative_up_to_monte_carlo_error():
    import vaelab

    cfg = vaelab.TrainConfig(dataset="digits", latent_dim=4, hidden=[32], epochs=5, train_size=300,
                             binarize="static")
    model, _ = vaelab.load_or_train(cfg, device="cpu", progress=False)
    x = vaelab.load_dataset("digits", "test", binarize="static").x[:60]
    g = inference_gaps(model, x, iw_samples=300, steps=100, elbo_samples=50)
    assert g["approximation_gap"] > -0.05 and g["amortization_gap"] > -0.05
    assert g["approximation_gap_fullcov"] <= g["approximation_gap"] + 0.05
    assert g["elbo_q"] <= g["elbo_qstar"] <= g["log_px"] + 0.05


@pytest.mark.parametrize("kwargs, message", [
    (dict(iw_samples=0), "iw_samples must be an integer >= 1, got 0"),
    (dict(steps=-3), "steps must be an integer >= 0, got -3"),
    (dict(lr=0.0), "lr must be in"),
    (dict(elbo_samples=0), "elbo_samples must be an integer >= 1"),
])
def test_bad_input_is_named(kwargs, message):
    model, W, b, s2 = ppca_vae()
    with pytest.raises(ValueError, match=message):
        inference_gaps(model, data(b, n=4), **kwargs)


def test_iw_log_px_rejects_k_below_one_with_a_proposal():
    model, W, b, s2 = ppca_vae()
    q = DiagGaussian(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        iw_log_px(model, data(b, n=4), 0, proposal=q)


def test_inference_gaps_and_iw_log_px_run_in_float64():
    model, W, b, s2 = ppca_vae_correlated()
    model = model.double()
    x = data(b, n=10).double()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        g = inference_gaps(model, x, iw_samples=500, steps=300, elbo_samples=200, ais=True,
                           ais_kwargs=dict(n_chains=16, n_steps=100, leapfrog=5))
    per = g["per_example"]
    assert all(v.dtype == torch.float64 for v in per.values())
    exact = ppca_log_px(x, W.double(), b.double(), s2)
    for key in ("log_px", "log_px_ais"):
        err = per[key] - exact
        assert abs(float(err.mean())) < 4 * se(err) + 0.01, key     # + AIS's small bias with 100 steps
    mean, cov = ppca_posterior(x, W.double(), b.double(), s2)
    post = FullGaussian(mean, torch.linalg.cholesky(cov).expand(10, 2, 2))
    est = iw_log_px(model, x, 1, proposal=post)
    assert est.dtype == torch.float64 and torch.allclose(est, exact, atol=1e-8)


def test_cli_gap_prints_the_keys(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "--dataset", "digits", "--latent-dim", "2", "--epochs", "2", "--hidden", "16",
            "--train-size", "200", "--device", "cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = cli("gap", str(out), "--points", "20", "--iw-samples", "50", "--steps", "20", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(GAP_KEYS) <= set(report) and report["n"] == 20 and report["iw_samples"] == 50
    assert all(report[k + "_se"] > 0 for k in GAP_KEYS) and 0 <= report["qstar_converged"] <= 1
    assert report["log_px"] - report["elbo_q"] == pytest.approx(
        report["approximation_gap"] + report["amortization_gap"], abs=1e-3)
    r = cli("gap", str(out), "--iw-samples", "0")
    assert r.returncode != 0 and "iw_samples must be an integer >= 1, got 0" in r.stderr
