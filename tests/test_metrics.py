import math

import pytest
import torch

from vaelab.metrics import active_units, elbo_parts, iw_log_px, kl_per_dim, linear_probe, mutual_information

from helpers import ppca_log_px, ppca_vae


def test_iw_log_px_is_exact_with_the_true_posterior_for_any_chunking():
    model, W, b, s2 = ppca_vae(exact_encoder=True)
    x = torch.randn(50, 5) * 1.5
    exact = ppca_log_px(x, W, b, s2)
    for chunk in (None, 1, 3, 10):
        torch.testing.assert_close(iw_log_px(model, x, 10, batch_size=16, chunk=chunk), exact, atol=1e-4, rtol=1e-5)


def test_iw_log_px_converges_to_the_closed_form_with_a_poor_proposal():
    model, W, b, s2 = ppca_vae(exact_encoder=False)
    x = torch.randn(40, 5)
    exact = ppca_log_px(x, W, b, s2)
    few = iw_log_px(model, x, 2, chunk=1)
    many = iw_log_px(model, x, 4000, batch_size=40, chunk=7)   # 7 does not divide 4000: a ragged last chunk
    gap_few, gap_many = float((exact - few).mean()), float((exact - many).mean())
    assert gap_few > 0.5, "the proposal must be poor for this test to mean anything"
    assert abs(gap_many) < 0.1 * gap_few
    assert gap_many > -0.05  # a lower bound in expectation


def test_mutual_information_matches_a_linear_gaussian_closed_form():
    # x ~ N(0, sx^2 I); q(z|x) = N(a x, s^2 I) per dim -> q(z) = N(0, a^2 sx^2 + s^2), I = d/2 log(1 + a^2 sx^2 / s^2)
    torch.manual_seed(0)
    n, d, a, sx, s = 20_000, 3, 1.0, 1.0, 0.8
    x = torch.randn(n, d) * sx
    mu, logvar = a * x, torch.full((n, d), 2 * math.log(s))
    truth = 0.5 * d * math.log(1 + a ** 2 * sx ** 2 / s ** 2)
    est = mutual_information(mu, logvar, batch_size=5000)
    assert est == pytest.approx(truth, abs=0.05)


def test_mutual_information_is_zero_when_q_ignores_x():
    # MC noise: the per-sample log q term has variance d/2 = 2, so the standard error is sqrt(2/n) ~ 0.007
    torch.manual_seed(1)
    n = 40_000
    mu, logvar = torch.zeros(n, 4) + 0.3, torch.zeros(n, 4) - 0.5
    assert abs(mutual_information(mu, logvar, batch_size=1000)) < 0.03


def test_mutual_information_estimator_cannot_exceed_log_batch_size():
    # deterministic-like codes: the true MI is huge; the estimator saturates at log B
    torch.manual_seed(2)
    mu, logvar = torch.randn(8192, 2) * 10, torch.full((8192, 2), -10.0)
    assert mutual_information(mu, logvar, batch_size=256) == pytest.approx(math.log(256), abs=0.05)


def test_active_units_counts_dimensions_whose_mean_varies():
    torch.manual_seed(0)
    mu = torch.randn(1000, 4) * torch.tensor([1.0, 0.05, 0.3, 0.0])   # variances 1, .0025, .09, 0
    count, var = active_units(mu)
    assert count == 2
    assert var[0] == pytest.approx(1.0, rel=0.1)
    with pytest.raises(ValueError, match="at least 2 examples"):
        active_units(mu[:1])


def test_kl_per_dim_averages_the_analytic_kl():
    mu, logvar = torch.tensor([[1.0, 0.0], [3.0, 0.0]]), torch.zeros(2, 2)
    torch.testing.assert_close(kl_per_dim(mu, logvar), torch.tensor([2.5, 0.0]))


def test_elbo_parts_agree_with_the_exact_posterior_model():
    model, W, b, s2 = ppca_vae(exact_encoder=True)
    x = torch.randn(30, 5)
    parts = elbo_parts(model, x, batch_size=7)
    torch.testing.assert_close(-(parts["rec"] + parts["kl"]).mean(), ppca_log_px(x, W, b, s2).mean(), atol=0.6, rtol=0)
    assert parts["mu"].shape == (30, 2)


def test_linear_probe_reads_labels_only_when_the_code_holds_them():
    torch.manual_seed(0)
    y = torch.randint(0, 3, (600,))
    informative = torch.randn(600, 2) * 0.2 + torch.nn.functional.one_hot(y, 3)[:, :2].float() * 3
    noise = torch.randn(600, 2)
    assert linear_probe(informative[:400], y[:400], informative[400:], y[400:]) > 0.95
    assert linear_probe(noise[:400], y[:400], noise[400:], y[400:]) < 0.55
