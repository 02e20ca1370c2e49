import math

import pytest
import torch

from vaelab.metrics import iw_log_px
from vaelab.objectives import elbo_loss, iwae_loss, kl_warmup, log_importance_weights, make_objective

from helpers import ppca_log_px, ppca_vae


def _bounds(model, x, k, reps):
    """L_k per repetition and example: (reps, N)."""
    out = []
    for _ in range(reps):
        log_w, _, _ = log_importance_weights(model, x, k)
        out.append(torch.logsumexp(log_w, 0) - math.log(k))
    return torch.stack(out)


@torch.no_grad()
def test_iwae_bound_is_above_elbo_and_tightens_with_k():
    model, W, b, s2 = ppca_vae(exact_encoder=False)   # a poor encoder: large gaps to close
    torch.manual_seed(0)
    x = torch.randn(64, 5) * 2
    reps = {k: _bounds(model, x, k, 200) for k in (1, 5, 50)}            # (reps, N) each
    l1, l5, l50 = (reps[k].mean() for k in (1, 5, 50))
    se = {k: float(reps[k].mean(1).std()) / 200 ** 0.5 for k in reps}   # Monte-Carlo SE of each mean
    exact = ppca_log_px(x, W, b, s2).mean()
    assert l1 + 4 * (se[1] + se[5]) < l5 and l5 + 4 * (se[5] + se[50]) < l50
    assert l50 <= exact + 4 * se[50]
    assert (exact - l1) > 1.0, "the test needs a loose ELBO to be meaningful"


@torch.no_grad()
def test_elbo_equals_log_px_with_the_exact_posterior():
    model, W, b, s2 = ppca_vae(exact_encoder=True)
    x = torch.randn(32, 5, generator=torch.Generator().manual_seed(0))
    # the ELBO is exact in expectation; with the true posterior every sample's log w equals log p(x)
    log_w, _, _ = log_importance_weights(model, x, 3)
    torch.testing.assert_close(log_w, ppca_log_px(x, W, b, s2).expand(3, -1), atol=1e-4, rtol=1e-5)


@torch.no_grad()
def test_iwae_loss_k1_has_the_elbo_expectation():
    model, *_ = ppca_vae(exact_encoder=False)
    x = torch.randn(16, 5, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    e = torch.stack([elbo_loss(model, x)[0] for _ in range(2000)])
    i = torch.stack([iwae_loss(model, x, 1)[0] for _ in range(2000)])
    se = float((e.var() / 2000 + i.var() / 2000).sqrt())               # independent draws: SE of the difference
    assert abs(float(e.mean() - i.mean())) < 4 * se and se < 0.02 * abs(float(e.mean()))


def test_kl_warmup_is_linear_then_one():
    assert kl_warmup(0, 10) == 0.0
    assert kl_warmup(5, 10) == pytest.approx(0.5)
    assert kl_warmup(10, 10) == 1.0 and kl_warmup(99, 10) == 1.0
    assert kl_warmup(3, 0) == 1.0
    assert kl_warmup(0, 4, start=0.2) == pytest.approx(0.2)


def test_beta_scales_only_the_kl():
    model = ppca_vae(exact_encoder=False)[0].double()                 # float64: l4 - l1 cancels ~100 nats
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.manual_seed(3)
    l1, s1 = make_objective("beta", beta=1.0)(model, x)
    torch.manual_seed(3)
    l4, s4 = make_objective("beta", beta=4.0)(model, x)
    torch.testing.assert_close(l4 - l1, 3.0 * s1["kl"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="elbow"), "objective='elbow'.*'elbo', 'beta', 'iwae'"),
    (dict(name="beta", beta=-1.0), "beta must be in"),
    (dict(name="iwae", iw_samples=0), "iw_samples must be an integer >= 1, got 0"),
    (dict(name="elbo", beta=2.0), "objective='beta'"),
])
def test_bad_objective_arguments_name_the_argument(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        make_objective(name, **kwargs)


def test_iw_samples_below_one_is_rejected():
    model, *_ = ppca_vae()
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        iw_log_px(model, torch.randn(2, 5), 0)
