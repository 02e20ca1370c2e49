"""The fused log p(x|z) of the estimators (vaelab.models.fused) against the plain decode(z).log_prob(x), and
iw_log_px with it against iw_log_px without it: same draws, same values up to float rounding."""
import pytest
import torch

import vaelab.metrics.likelihood as likelihood
import vaelab.models.fused as fused
from vaelab.metrics import iw_log_px
from vaelab.models import build_model
from vaelab.models.fused import fused_log_lik


def _model_and_data(shape=(1, 28, 28), hidden=(40, 30), d=5, n=7, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    model = build_model("mlp", shape, d, hidden).to(dtype).eval()
    x = (torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed + 1)) < 0.4).to(dtype)
    return model, x


@pytest.mark.parametrize("dtype, rel", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("shape", [(1, 28, 28), (64,)])
def test_fused_log_lik_is_the_bernoulli_log_likelihood(dtype, rel, shape, monkeypatch):
    model, x = _model_and_data(shape, dtype=dtype)
    z = torch.randn(9, x.shape[0], model.latent_dim, dtype=dtype) * 2
    with torch.inference_mode():
        ref = model.decode(z).log_prob(x)                                     # (S, B), the unfused path
        for budget in (None, 3 * x[0].numel() * x.shape[0]):                  # one block; blocks of 3 samples
            monkeypatch.setitem(fused.BLOCK_ELEMENTS, "cpu", budget or 2 ** 30)
            got = fused_log_lik(model, x)(z)
            assert got.shape == ref.shape and got.dtype == dtype
            # rel: the rounding of sums of 64-784 terms in that dtype (the two paths sum in another order)
            assert (got - ref).abs().max() <= rel * ref.abs().max()


def test_fused_log_lik_declines_what_it_cannot_fuse():
    model, x = _model_and_data()
    cb = build_model("mlp", (1, 28, 28), 5, (40, 30), likelihood="cbernoulli")
    conv = build_model("conv", (1, 28, 28), 5, (40,))
    with torch.inference_mode():
        assert fused_log_lik(cb, x) is None and fused_log_lik(conv, x) is None
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert fused_log_lik(model, x) is None                          # bf16 runs the unfused path
        assert fused_log_lik(model, x) is not None


def test_iw_log_px_fused_matches_unfused_on_the_same_draws(monkeypatch):
    # float64 model: the two paths differ only in summation order, so they agree to ~1e-12 nats. A change in which
    # random numbers are drawn (chunking, order) would move the estimates by Monte Carlo noise, ~0.1 nats here.
    model, x = _model_and_data(n=11, dtype=torch.float64)
    fast = iw_log_px(model, x, 23, batch_size=4, seed=5)
    monkeypatch.setattr(likelihood, "fused_log_lik", lambda *a: None)
    slow = iw_log_px(model, x, 23, batch_size=4, seed=5)
    assert torch.allclose(fast, slow, rtol=0, atol=1e-9)
    assert (iw_log_px(model, x, 23, batch_size=4, seed=6) - slow).abs().max() > 1e-3   # the test can see draws


def test_iw_log_px_float32_fused_within_rounding_of_unfused(monkeypatch):
    model, x = _model_and_data(n=30)
    fast = iw_log_px(model, x, 40, batch_size=16, seed=1)
    monkeypatch.setattr(likelihood, "fused_log_lik", lambda *a: None)
    slow = iw_log_px(model, x, 40, batch_size=16, seed=1)
    assert (fast - slow).abs().max() < 1e-3                                   # nats, on values of ~550 nats


def test_fused_log_lik_on_a_device_without_blocks_takes_the_chunk_whole():
    # the path a GPU takes (no BLOCK_ELEMENTS entry: one block per chunk), traced on the meta device
    model, x = _model_and_data()
    model = model.to("meta")
    z = torch.empty(6, x.shape[0], model.latent_dim, device="meta")
    with torch.inference_mode():
        f = fused_log_lik(model, x.to("meta"))
        assert f.samples_per_block is None
        out = f(z)
    assert out.shape == (6, x.shape[0]) and out.device.type == "meta"
