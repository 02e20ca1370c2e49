"""Every "nats" is a log-likelihood: the continuous Bernoulli against a trusted reference and quadrature, and the
rules that refuse a Bernoulli likelihood on grey data."""
import math

import pytest
import torch

import vaelab
from vaelab.metrics import evaluate
from vaelab.metrics.latent import mutual_information_stats
from vaelab.models import ContinuousBernoulli, build_model, check_likelihood_data, likelihood_for
from vaelab.models.distributions import log_cb_normaliser


def _cb(logits):
    """One-pixel continuous Bernoulli per logit: logits (..., 1)."""
    return ContinuousBernoulli(logits[..., None], event_dims=1)


def test_continuous_bernoulli_matches_torch_away_from_one_half():
    # torch's own ContinuousBernoulli switches to a Taylor series inside `lims` and clamps p near 0 and 1;
    # compare where it is exact, in float64 (and at |l| = 30 against log C = log(l / tanh(l/2)) ~ log 30).
    assert log_cb_normaliser(torch.tensor([30.0, -30.0], dtype=torch.float64)).tolist() == \
        pytest.approx([math.log(30.0)] * 2, abs=1e-12)
    logits = torch.tensor([-10.0, -5.0, -1.0, -0.2, 0.2, 1.0, 5.0, 10.0], dtype=torch.float64)
    x = torch.linspace(0, 1, 9, dtype=torch.float64)[:, None].expand(9, len(logits))
    ref = torch.distributions.ContinuousBernoulli(logits=logits.expand(9, -1)).log_prob(x)
    ours = _cb(logits.expand(9, -1)).log_prob(x[..., None])
    assert torch.allclose(ours, ref, rtol=0, atol=1e-9)
    assert torch.allclose(_cb(logits).mean.squeeze(-1),
                          torch.distributions.ContinuousBernoulli(logits=logits).mean, rtol=0, atol=1e-5)


@pytest.mark.parametrize("logit", [-6.0, -0.7, -0.011, -0.009, 0.0, 3e-3, 0.5, 4.0])
def test_continuous_bernoulli_is_a_normalised_density_with_the_stated_mean(logit):
    xs = torch.linspace(0, 1, 100001, dtype=torch.float64)
    d = _cb(torch.full((len(xs),), logit, dtype=torch.float64))
    dens = d.log_prob(xs[:, None]).exp()
    assert torch.trapezoid(dens, xs).item() == pytest.approx(1.0, abs=1e-7)
    assert d.mean[0, 0].item() == pytest.approx(torch.trapezoid(xs * dens, xs).item(), abs=1e-7)


def test_normaliser_is_smooth_across_its_series_branch_and_has_finite_gradients():
    # The series (|l| < 1e-2) and the closed form l / tanh(l/2) agree where they meet.
    edge = torch.tensor([0.0099999, 0.0100001, -0.0099999, -0.0100001], dtype=torch.float64)
    closed = torch.log(edge / torch.tanh(edge / 2))
    assert torch.allclose(log_cb_normaliser(edge), closed, rtol=0, atol=1e-12)
    assert log_cb_normaliser(torch.zeros(1, dtype=torch.float64)).item() == pytest.approx(math.log(2), abs=1e-15)
    logits = torch.tensor([0.0, 1e-6, -0.3, 40.0], requires_grad=True)
    log_cb_normaliser(logits).sum().backward()
    assert torch.isfinite(logits.grad).all()
    # d/dl log C at l = 0 is 0 (C is even in l); at -0.3 it is negative
    assert logits.grad[0].item() == 0.0 and logits.grad[2].item() < 0


def test_samples_follow_the_mean():
    torch.manual_seed(0)
    d = _cb(torch.full((40000,), 1.5))
    s = d.sample()
    assert ((s >= 0) & (s <= 1)).all()
    se = s.std().item() / math.sqrt(s.numel())
    assert abs(s.mean().item() - d.mean[0, 0].item()) < 4 * se


def test_bernoulli_on_grey_data_is_refused_with_what_to_do():
    grey = torch.tensor([[0.0, 0.5, 1.0]])
    with pytest.raises(ValueError, match="binarize.*cbernoulli"):
        check_likelihood_data("bernoulli", grey)
    check_likelihood_data("bernoulli", torch.tensor([[0.0, 1.0, 1.0]]))          # binary: fine
    check_likelihood_data("bernoulli", grey, dynamic=True)                         # binarized per draw: fine
    check_likelihood_data("cbernoulli", grey)
    with pytest.raises(ValueError, match="cbernoulli.*0, 1"):
        check_likelihood_data("cbernoulli", torch.tensor([[0.0, 1.5]]))
    check_likelihood_data("gaussian", torch.tensor([[-3.0, 7.0]]))
    check_likelihood_data("bernoulli", torch.tensor([[3, 7]]))                     # token ids: not pixels


def test_likelihood_follows_the_kind_of_data():
    assert likelihood_for("binary") == "bernoulli"
    assert likelihood_for("gray") == "cbernoulli"
    assert likelihood_for("gray", "dynamic") == "bernoulli"
    assert likelihood_for("real") == "gaussian"
    with pytest.raises(ValueError, match="kind 'text'"):
        likelihood_for("text")


def test_fit_and_evaluate_refuse_bernoulli_on_grey_digits():
    test = vaelab.load_dataset("digits", "test")
    model = build_model("mlp", test.meta["shape"], 2, hidden=(8,))              # Bernoulli by default
    with pytest.raises(ValueError, match="likelihood='bernoulli' needs binary data"):
        vaelab.fit(model, test, epochs=1)
    with pytest.raises(ValueError, match="likelihood='bernoulli' needs binary data"):
        evaluate(model, test, iw_samples=2)
    binary = vaelab.load_dataset("digits", "test", binarize="static")
    vaelab.fit(model, binary, epochs=1)
    assert evaluate(model, binary, iw_samples=2)["likelihood"] == "bernoulli"


@pytest.mark.parametrize("binarize, expected", [(None, "cbernoulli"), ("static", "bernoulli"),
                                                ("dynamic", "bernoulli")])
def test_train_picks_a_normalised_likelihood_for_the_data(binarize, expected):
    cfg = vaelab.TrainConfig(dataset="digits", latent_dim=2, hidden=[8], epochs=1, train_size=64, binarize=binarize)
    model, _ = vaelab.train.train(cfg)
    assert model.likelihood == expected


def test_a_continuous_bernoulli_vae_reports_a_log_density_with_standard_errors():
    torch.manual_seed(0)
    test = vaelab.data.subset(vaelab.load_dataset("digits", "test"), 100)
    model = build_model("mlp", test.meta["shape"], 2, hidden=(16,), likelihood="cbernoulli")
    vaelab.fit(model, test, epochs=2)
    state = torch.get_rng_state()
    r = evaluate(model, test, iw_samples=20)
    assert torch.equal(torch.get_rng_state(), state), "evaluate changed torch's global random state"
    assert r == evaluate(model, test, iw_samples=20), "the same seed must give the same numbers"
    # the IW bound is at least the ELBO (beyond noise), and every mean comes with its standard error
    assert -r["iw_nll"] >= r["elbo"] - 3 * r["elbo_se"]
    for key in ("elbo", "iw_nll", "rec", "kl", "mi"):
        assert 0 < r[f"{key}_se"] < float("inf")
    assert r["mi_ceiling"] == pytest.approx(math.log(100))
    # the continuous Bernoulli's log C(p) >= log 2 per pixel: its -log p(x|z) sits below the cross-entropy
    with torch.no_grad():
        q = model.encode(test.x)
        logits = model.decoder(q.mu)
        xent = torch.nn.functional.binary_cross_entropy_with_logits(logits, test.x, reduction="none").flatten(1).sum(1)
        nll = -model.decode(q.mu).log_prob(test.x)
    assert torch.all(xent - nll >= 64 * math.log(2) - 1e-3)


def test_mutual_information_reports_its_ceiling():
    n, d = 300, 2
    mu = torch.randn(n, d, generator=torch.Generator().manual_seed(0)) * 10.0
    far_apart = mutual_information_stats(mu, torch.full((n, d), -12.0), batch_size=n,
                                         generator=torch.Generator().manual_seed(1))
    assert far_apart["mi_ceiling"] == pytest.approx(math.log(300))
    # perfectly separated codes: the estimate sits at its ceiling, log 300 = 5.70, whatever the true I(x;z).
    # It can pass the ceiling by Monte-Carlo noise only: the first term is the analytic -entropy, the second
    # uses a sampled z, so each term is log N + (|eps|^2 - d)/2 at most (mean log N, sd sqrt(d/2)).
    assert abs(far_apart["mi"] - math.log(300)) < 4 * far_apart["mi_se"]
    assert far_apart["mi_se"] == pytest.approx(math.sqrt(d / 2) / math.sqrt(n), rel=0.25)
    uneven = mutual_information_stats(mu, torch.zeros(n, d), batch_size=200, generator=torch.Generator())
    assert uneven["mi_ceiling"] == pytest.approx((200 * math.log(200) + 100 * math.log(100)) / 300)
