"""AIS and the SRI row's importance sampler on an LSTM text model, against log p(x) by quadrature.

With one latent dimension, log p(x) = log ∫ p(x|z) N(z; 0, 1) dz is computed to ~1e-7 nats by a dense grid; both
estimators must match it within their Monte Carlo error, measured over independent repeats (each sentence repeated
R times in one batch: independent chains and draws). The toy decoder's z weights are scaled up so that z matters:
one sentence's posterior sits 2.3 prior SDs from 0 with SD 0.5, where an estimator that does not find it fails.
"""
from __future__ import annotations

import math

import pytest
import torch

from vaelab.inference.ais import ais_log_px
from vaelab.metrics.inference_compare import LatentIgnored, encoder_free_log_px, is_against_ais
from vaelab.metrics.likelihood import decoder_only_nll
from vaelab.models import build_model
from vaelab.zoo.table_inference import CHAINS, SRI_IW_SAMPLES

TOL = 0.02        # nats: float32 rounding of a 12-token log-likelihood and the quadrature, far below any SE here
SENTENCES = torch.tensor([[4, 5, 4, 5, 4, 5, 4, 5, 2, 0, 0, 0],
                          [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2],     # the sharp, off-centre posterior
                          [5, 4, 4, 5, 5, 4, 4, 5, 5, 4, 2, 0]])
SHARP = 1


@pytest.fixture(scope="module")
def toy():
    torch.manual_seed(0)
    model = build_model("lstm", (12,), 1, hidden=(8,), vocab_size=6, embed_dim=4)
    with torch.no_grad():       # make p(x|z) depend strongly on z
        model.decoder.init.weight.mul_(4.0)
        model.decoder.lstm.weight_ih_l0[:, -1:].mul_(4.0)
        model.decoder.out.weight.mul_(4.0)
    return model.eval()


@torch.no_grad()
def quadrature_log_px(model, x, n=4001, half_width=8.0):
    """log p(x) per sentence (float64) by the rectangle rule on [-w, w]: logsumexp_j [log p(x|z_j) + log N(z_j)] + log Δz."""
    z = torch.linspace(-half_width, half_width, n)
    ll = torch.stack([model.decode(z[:, None]).log_prob(xi.expand(n, -1)) for xi in x], 1).double()
    log_prior = -0.5 * z.double() ** 2 - 0.5 * math.log(2 * math.pi)
    return torch.logsumexp(ll + log_prior[:, None], 0) + math.log(2 * half_width / (n - 1))


@pytest.fixture(scope="module")
def exact(toy):
    return quadrature_log_px(toy, SENTENCES)


def repeats(estimates: torch.Tensor, r: int):
    """(R * B,) estimates of R repeats of B sentences -> mean and standard error over the repeats, (B,) each."""
    e = estimates.double().view(r, -1)
    return e.mean(0), e.std(0) / math.sqrt(r)


def test_the_ground_truth_is_converged_and_the_toy_posterior_is_informative(toy, exact):
    finer = quadrature_log_px(toy, SENTENCES, n=8001, half_width=10.0)
    assert torch.allclose(exact, finer, atol=1e-5, rtol=0)
    at_prior_mean = -decoder_only_nll(toy, SENTENCES).double()
    assert float(exact[SHARP] - at_prior_mean[SHARP]) > 5.0      # log p(x|0) is far below log p(x): z matters


def test_ais_matches_quadrature_within_its_monte_carlo_error(toy, exact):
    r = 10
    mean, se = repeats(ais_log_px(toy, SENTENCES.repeat(r, 1), n_chains=4, n_steps=200, leapfrog=5, seed=0), r)
    assert (se > 0).all()
    assert ((mean - exact).abs() <= 4 * se + TOL).all(), (mean - exact, se)


def test_ais_with_too_few_steps_is_a_lower_bound_that_misses(toy, exact):
    # the same estimator, annealed too fast: below log p(x) by many SEs on the sharp posterior, never above
    r = 40
    mean, se = repeats(ais_log_px(toy, SENTENCES.repeat(r, 1), n_chains=4, n_steps=3, leapfrog=2, seed=1), r)
    assert (mean <= exact + 4 * se + TOL).all()
    assert float(mean[SHARP]) < float(exact[SHARP]) - 3 * float(se[SHARP]) - TOL


def test_the_sri_rows_importance_sampler_matches_quadrature(toy, exact):
    # the estimator the table's 'sri' row uses, with the quick profile's chains and importance samples
    r = 20
    chains, steps = CHAINS["quick"]
    est = encoder_free_log_px(toy, SENTENCES.repeat(r, 1), iw_samples=SRI_IW_SAMPLES["quick"], chains=chains,
                              steps=steps, seed=0)
    mean, se = repeats(est, r)
    assert (se > 0).all()
    assert ((mean - exact).abs() <= 4 * se + TOL).all(), (mean - exact, se)


def test_the_sri_importance_sampler_is_a_lower_bound_that_tightens_with_k(toy, exact):
    r = 100
    chains, steps = CHAINS["quick"]
    x = SENTENCES.repeat(r, 1)
    one, se1 = repeats(encoder_free_log_px(toy, x, iw_samples=1, chains=chains, steps=steps, seed=2), r)
    many, se_many = repeats(encoder_free_log_px(toy, x, iw_samples=50, chains=chains, steps=steps, seed=2), r)
    assert (one <= exact + 4 * se1 + TOL).all()
    # K = 1 is E_r[log p(x, z) / r(z)] = log p(x) - KL(r || p(z|x)): measurably below on the sharp posterior and
    # over all sentences (the defensive mixture's prior draws make single weights heavy-tailed: SE of 0.6-2.3 nats)
    for gap, se in (((one - exact)[SHARP], se1[SHARP]), ((one - exact).sum(), se1.pow(2).sum().sqrt())):
        assert gap < -3 * se, (gap, se)
    gain, gain_se = (many - one).sum(), (se1 ** 2 + se_many ** 2).sum().sqrt()
    assert gain > 3 * gain_se, (gain, gain_se)


def test_a_decoder_only_model_scored_as_p_x_given_0_gives_ais_its_exact_likelihood(toy):
    exact_at_0 = -decoder_only_nll(toy, SENTENCES).double()
    as_lm = ais_log_px(LatentIgnored(toy), SENTENCES, n_chains=3, n_steps=4, leapfrog=2, seed=0).double()
    assert torch.allclose(as_lm, exact_at_0, atol=1e-4, rtol=0)
    # the network itself does depend on z: AIS on it estimates another number
    raw = ais_log_px(toy, SENTENCES, n_chains=3, n_steps=4, leapfrog=2, seed=0).double()
    assert float((raw - exact_at_0).abs().max()) > 1.0
    got = is_against_ais(toy, SENTENCES, exact_at_0, n_chains=3, n_steps=4, leapfrog=2, latent_ignored=True)
    assert got["ais_sentences"] == 3 and abs(got["iw_minus_ais"]) < 1e-4
    assert got["ais_nll"] == pytest.approx(float(-exact_at_0.mean()), abs=1e-4)


def test_is_against_ais_names_a_mismatched_estimate(toy):
    with pytest.raises(ValueError, match=r"is_log_px must have shape \(3,\).*got \(2,\)"):
        is_against_ais(toy, SENTENCES, torch.zeros(2), n_chains=2, n_steps=2, leapfrog=1)
    with pytest.raises(ValueError, match="x.shape"):
        is_against_ais(toy, SENTENCES[:1], torch.zeros(1), n_chains=2, n_steps=2, leapfrog=1)
