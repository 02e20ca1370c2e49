import torch

from vaelab.models import Bernoulli, DiagGaussian, Gaussian, standard_normal_log_prob


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g) * 0.5
    q = DiagGaussian(mu, logvar)
    z = q.rsample(200_000)
    mc = (q.log_prob(z) - standard_normal_log_prob(z)).mean(0)
    se = (q.log_prob(z) - standard_normal_log_prob(z)).std(0) / 200_000 ** 0.5
    assert torch.all((mc - q.kl_standard()).abs() < 5 * se + 1e-4)


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(6, 5), torch.randn(6, 5)
    q = DiagGaussian(mu, logvar)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                            torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(q.kl_standard(), ref)
    assert torch.all(q.kl_standard_per_dim() >= 0)
    assert torch.allclose(DiagGaussian(torch.zeros(3), torch.zeros(3)).kl_standard(), torch.tensor(0.0))


def test_diag_gaussian_log_prob_and_entropy_match_torch():
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    q, ref = DiagGaussian(mu, logvar), torch.distributions.Normal(mu, (0.5 * logvar).exp())
    z = torch.randn(7, 3, 4)
    torch.testing.assert_close(q.log_prob(z), ref.log_prob(z).sum(-1))
    torch.testing.assert_close(q.entropy(), ref.entropy().sum(-1))


def test_bernoulli_log_likelihood_matches_torch_and_sums_per_example():
    logits = torch.randn(5, 1, 4, 4)
    x = torch.bernoulli(torch.full((5, 1, 4, 4), 0.4))
    ref = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(Bernoulli(logits, event_dims=3).log_prob(x), ref)


def test_bernoulli_broadcasts_over_sample_dims():
    logits = torch.randn(7, 5, 1, 4, 4)
    x = torch.bernoulli(torch.full((5, 1, 4, 4), 0.5))
    ref = torch.distributions.Bernoulli(logits=logits).log_prob(x.expand_as(logits)).sum((2, 3, 4))
    torch.testing.assert_close(Bernoulli(logits, event_dims=3).log_prob(x), ref)


def test_gaussian_likelihood_matches_torch():
    mean, logvar, x = torch.randn(4, 6), torch.randn(6), torch.randn(4, 6)
    ref = torch.distributions.Normal(mean, (0.5 * logvar).exp()).log_prob(x).sum(-1)
    torch.testing.assert_close(Gaussian(mean, logvar, event_dims=1).log_prob(x), ref)


def test_mismatched_shapes_are_rejected():
    import pytest
    with pytest.raises(ValueError, match="mu and logvar"):
        DiagGaussian(torch.zeros(3, 2), torch.zeros(3, 4))
