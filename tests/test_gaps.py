"""The gap decomposition against closed forms (probabilistic PCA) and its CLI."""
import json
import os
import subprocess
import sys

import pytest
import torch
from helpers import ppca_log_px, ppca_posterior, ppca_vae, ppca_vae_correlated

from vaelab.inference import FullGaussian
from vaelab.metrics import GAP_KEYS, inference_gaps, iw_log_px
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


def test_gaps_of_a_correlated_linear_gaussian_model_match_the_closed_form():
    model, W, b, s2 = ppca_vae_correlated()            # random encoder, correlated posterior
    x = data(b)
    g = inference_gaps(model, x, iw_samples=2000, steps=800, lr=0.05, lr_end=0.0005, opt_samples=20,
                       elbo_samples=4000)
    per = g["per_example"]
    mean, cov = ppca_posterior(x, W, b, s2)
    true_log_px = ppca_log_px(x, W, b, s2)
    assert torch.allclose(per["log_px"], true_log_px, atol=0.02)
    # Full covariance: the family holds the posterior, so its approximation gap is 0.
    assert abs(g["approximation_gap_fullcov"]) < 0.01
    # Diagonal q*: gap = KL(q* || p(z|x)) with q* = N(mean, diag(1 / P_jj)), P the posterior precision.
    qstar_var = 1 / torch.diagonal(torch.linalg.inv(cov))
    approx = kl_gauss(mean, torch.diag(qstar_var), mean, cov)
    assert float(approx.mean()) > 0.05
    assert g["approximation_gap"] == pytest.approx(float(approx.mean()), abs=0.02)
    # Amortization gap: KL(q || p(z|x)) - KL(q* || p(z|x)), q the (random) encoder's answer.
    with torch.no_grad():
        q = model.encode(x)
    amort = kl_gauss(q.mu, torch.diag_embed(q.logvar.exp()), mean, cov) - approx
    assert g["amortization_gap"] == pytest.approx(float(amort.mean()), rel=0.02)
    assert set(GAP_KEYS) <= set(g)
    assert g["log_px"] - g["elbo_q"] == pytest.approx(g["approximation_gap"] + g["amortization_gap"], abs=1e-4)


def test_an_exact_encoder_has_no_amortization_gap_and_gaps_are_nonnegative():
    model, W, b, s2 = ppca_vae(exact_encoder=True)       # orthogonal W: diagonal posterior, exact encoder
    x = data(b)
    g = inference_gaps(model, x, iw_samples=500, steps=200, lr=0.02, lr_end=0.0002, elbo_samples=4000)
    for key in ("approximation_gap", "amortization_gap", "approximation_gap_fullcov"):
        assert abs(g[key]) < 0.01, (key, g[key])
    assert g["log_px"] == pytest.approx(float(ppca_log_px(x, W, b, s2).mean()), abs=0.01)


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


def cli(*args):
    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "vaelab", *args], capture_output=True, text=True, env=env)


def test_cli_gap_prints_the_keys(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "--dataset", "digits", "--latent-dim", "2", "--epochs", "2", "--hidden", "16",
            "--train-size", "200", "--device", "cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = cli("gap", str(out), "--points", "20", "--iw-samples", "50", "--steps", "20", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(GAP_KEYS) <= set(report) and report["n"] == 20 and report["iw_samples"] == 50
    assert report["log_px"] - report["elbo_q"] == pytest.approx(
        report["approximation_gap"] + report["amortization_gap"], abs=1e-3)
    r = cli("gap", str(out), "--iw-samples", "0")
    assert r.returncode != 0 and "iw_samples must be an integer >= 1, got 0" in r.stderr
