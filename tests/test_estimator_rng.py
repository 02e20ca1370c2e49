"""The estimators' randomness: private generators, fresh draws in every batch, torch's global state untouched."""
import pytest
import torch
from helpers import ppca_vae_correlated

from vaelab.inference import ais_log_px
from vaelab.metrics import elbo_parts, inference_gaps, iw_log_px
from vaelab.models import DiagGaussian
from vaelab.objectives import log_importance_weights


def data(b, n=6, seed=3):
    return torch.randn(n, b.shape[0], generator=torch.Generator().manual_seed(seed)) * 2 + b


def test_iw_log_px_leaves_the_global_random_state_alone():
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b)
    q = DiagGaussian(torch.zeros(6, 2), torch.zeros(6, 2))
    before = torch.get_rng_state()
    iw_log_px(model, x, 20, batch_size=4, seed=3)
    iw_log_px(model, x, 20, batch_size=4, seed=3, proposal=q)
    assert torch.equal(torch.get_rng_state(), before)


def test_iw_log_px_is_reproducible_by_seed_or_generator_and_a_generator_runs_on():
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b)
    a = iw_log_px(model, x, 20, batch_size=4, chunk=7, seed=4)
    assert torch.equal(a, iw_log_px(model, x, 20, batch_size=4, chunk=7, seed=4))
    gen = torch.Generator().manual_seed(4)
    assert torch.equal(a, iw_log_px(model, x, 20, batch_size=4, chunk=7, seed=99, generator=gen))  # generator wins
    again = iw_log_px(model, x, 20, batch_size=4, chunk=7, generator=gen)      # the same generator continues
    assert (again - a).abs().min() > 0
    assert (iw_log_px(model, x, 20, batch_size=4, chunk=7, seed=5) - a).abs().min() > 0


def test_iw_log_px_draws_fresh_samples_for_every_batch_and_chunk():
    # one example repeated, one example per batch: independent draws give different estimates
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=1).expand(5, -1)
    est = iw_log_px(model, x, 3, batch_size=1, chunk=1, seed=0)
    assert est.unique().numel() == 5


def test_log_importance_weights_and_elbo_parts_take_a_generator():
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b)
    before = torch.get_rng_state()
    w1, _, _ = log_importance_weights(model, x, 4, generator=torch.Generator().manual_seed(1))
    w2, _, _ = log_importance_weights(model, x, 4, generator=torch.Generator().manual_seed(1))
    r1 = elbo_parts(model, x, batch_size=4, generator=torch.Generator().manual_seed(1))["rec"]
    r2 = elbo_parts(model, x, batch_size=4, generator=torch.Generator().manual_seed(1))["rec"]
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(w1, w2) and torch.equal(r1, r2)
    r3 = elbo_parts(model, x, batch_size=4, generator=torch.Generator().manual_seed(2))["rec"]
    assert (r3 - r1).abs().min() > 0


def test_ais_continues_its_generator_across_calls():
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=2)
    kw = dict(n_chains=2, n_steps=3, leapfrog=1)
    before = torch.get_rng_state()
    a = ais_log_px(model, x, seed=1, **kw)
    assert torch.equal(a, ais_log_px(model, x, generator=torch.Generator().manual_seed(1), **kw))
    gen = torch.Generator().manual_seed(1)
    first, second = ais_log_px(model, x, generator=gen, **kw), ais_log_px(model, x, generator=gen, **kw)
    assert torch.equal(first, a) and (second - first).abs().min() > 0
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_inference_gaps_draws_fresh_noise_in_every_batch_and_leaves_the_global_state_alone():
    # The same example in 4 batches of one: q* is the same in each (by design, see inference/svi.py),
    # but the importance samples and the AIS noise must not repeat from batch to batch.
    model, W, b, s2 = ppca_vae_correlated()
    x = data(b, n=1).expand(4, -1)
    before = torch.get_rng_state()
    kw = dict(iw_samples=5, steps=4, elbo_samples=3, fullcov=True, ais=True,
              ais_kwargs=dict(n_chains=2, n_steps=2, leapfrog=1), seed=0)
    g = inference_gaps(model, x, batch_size=1, **kw)
    assert torch.equal(torch.get_rng_state(), before)
    per = g["per_example"]
    for key in ("log_px", "log_px_ais", "elbo_q"):
        assert per[key].unique().numel() == 4, (key, per[key])
    # the same seed gives the same numbers
    again = inference_gaps(model, x, batch_size=1, **kw)["per_example"]
    assert all(torch.equal(again[k], v) for k, v in per.items())
