"""The fused log p(x|z) and gradient in z of AIS (vaelab.models.fused_grad) against autograd through
decode(z).log_prob(x) (and against central differences), and ais_log_px with it against ais_log_px without it:
same draws, same values up to float rounding."""
import pytest
import torch
from torch import nn

import vaelab.inference.ais as ais
import vaelab.models.fused as fused
from vaelab.inference import ais_log_px
from vaelab.models import build_model
from vaelab.models.fused_grad import fused_log_lik_and_grad


def _model_and_data(shape=(1, 28, 28), hidden=(40, 30), d=5, n=7, dtype=torch.float64, alpha=1.0, seed=0):
    torch.manual_seed(seed)
    model = build_model("mlp", shape, d, hidden).to(dtype).eval()
    for m in model.decoder.net:
        if isinstance(m, nn.ELU):
            m.alpha = alpha
    x = (torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed + 1)) < 0.4).to(dtype)
    return model, x


def _autograd(model, x, z):
    z = z.detach().clone().requires_grad_(True)
    ll = model.decode(z).log_prob(x)
    (g,) = torch.autograd.grad(ll.sum(), z)
    return ll.detach(), g


CASES = {   # data shape, decoder hidden widths (input side first), latent dim, ELU alpha
    "784-40-30-5": ((1, 28, 28), (40, 30), 5, 1.0),
    "784-40-30-5, alpha 0.3": ((1, 28, 28), (40, 30), 5, 0.3),
    "64-20-3, alpha 2.5": ((64,), (20,), 3, 2.5),
    "64-16-16-16-2, alpha 0": ((64,), (16, 16, 16), 2, 0.0),
    "64-2 (one Linear)": ((64,), (), 2, 1.0),
}


# tolerances, relative to the largest |value| and |gradient|: fp64, the rounding of two summation orders (measured
# over these cases and 5 seeds: 4e-16 and 1.2e-15); fp32, measured 2.2e-7 for the values and 4.3e-7 for the
# gradients; the fp32 bounds leave a factor of ~20
@pytest.mark.parametrize("dtype, rel_ll, rel_g", [(torch.float64, 1e-10, 1e-10), (torch.float32, 5e-6, 1e-5)])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("chains", [1, 9])
def test_fused_value_and_gradient_match_autograd(dtype, rel_ll, rel_g, case, chains, monkeypatch):
    shape, hidden, d, alpha = CASES[case]
    model, x = _model_and_data(shape, hidden, d, dtype=dtype, alpha=alpha)
    z = torch.randn(chains, x.shape[0], d, dtype=dtype, generator=torch.Generator().manual_seed(3)) * 2
    ref_ll, ref_g = _autograd(model, x, z)
    for budget in (2 ** 30, 4 * x[0].numel() * x.shape[0]):        # one block; blocks of 4 chains (9 = 3 + 3 + 3)
        monkeypatch.setitem(fused.BLOCK_ELEMENTS, "cpu", budget)
        f = fused_log_lik_and_grad(model, x)
        for _ in range(2):                                            # the second call reuses the buffers
            ll, g = f(z)
            assert ll.shape == ref_ll.shape and g.shape == z.shape and ll.dtype == g.dtype == dtype
            assert not ll.requires_grad and not g.requires_grad     # called outside no_grad, weights need grad
            assert (ll - ref_ll).abs().max() <= rel_ll * ref_ll.abs().max()
            assert (g - ref_g).abs().max() <= rel_g * ref_g.abs().max()


def test_fused_gradient_matches_central_differences():
    # ground truth without autograd: (f(z + h e_i) - f(z - h e_i)) / 2h in float64, error ~ h^2 f''' ~ 1e-8 here
    model, x = _model_and_data(hidden=(40, 30), alpha=0.7)
    z = torch.randn(3, x.shape[0], 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    f = fused_log_lik_and_grad(model, x)
    _, g = f(z)
    h, num = 1e-5, torch.empty_like(z)
    for i in range(z.shape[-1]):
        e = torch.zeros_like(z)
        e[..., i] = h
        num[..., i] = (f(z + e)[0] - f(z - e)[0]) / (2 * h)
    assert (g - num).abs().max() <= 1e-6 * g.abs().max()
    assert g.abs().max() > 1.0                                        # a gradient worth comparing


def test_bias_free_layers_match_autograd():
    model, x = _model_and_data(hidden=(40, 30))
    model.decoder.net[0].bias = None
    model.decoder.net[-1].bias = None
    z = torch.randn(4, x.shape[0], 5, dtype=torch.float64)
    ll, g = fused_log_lik_and_grad(model, x)(z)
    ref_ll, ref_g = _autograd(model, x, z)
    assert torch.allclose(ll, ref_ll, rtol=1e-12, atol=0) and torch.allclose(g, ref_g, rtol=1e-10, atol=1e-12)


def test_declines_what_it_cannot_fuse():
    model, x = _model_and_data()
    cb = build_model("mlp", (1, 28, 28), 5, (40, 30), likelihood="cbernoulli").double()
    conv = build_model("conv", (1, 28, 28), 5, (40,)).double()
    negative, _ = _model_and_data(alpha=-0.5)                          # ELU output no longer tells the input's sign
    assert fused_log_lik_and_grad(cb, x) is None and fused_log_lik_and_grad(conv, x) is None
    assert fused_log_lik_and_grad(negative, x) is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert fused_log_lik_and_grad(model, x) is None
    assert fused_log_lik_and_grad(model, x) is not None
    # and AIS then takes autograd, which gives the reference values
    z = torch.randn(2, x.shape[0], 5, dtype=torch.float64)
    ll, g = ais._log_lik_and_grad(negative, x)(z)
    ref_ll, ref_g = _autograd(negative, x, z)
    assert torch.equal(ll, ref_ll) and torch.equal(g, ref_g)


def test_wrong_shape_of_z_is_named():
    model, x = _model_and_data()
    f = fused_log_lik_and_grad(model, x)
    with pytest.raises(ValueError, match=r"z must have shape \(S, B=7, d\), got \(7, 5\)"):
        f(torch.zeros(7, 5, dtype=torch.float64))


def _ais_both_ways(model, x, monkeypatch, **kw):
    fast = ais_log_px(model, x, **kw)
    with monkeypatch.context() as m:
        m.setattr(ais, "fused_log_lik_and_grad", lambda *a: None)
        slow = ais_log_px(model, x, **kw)
    return fast, slow


def test_ais_fused_matches_unfused_on_the_same_draws(monkeypatch):
    # float64: the paths differ only in summation order, so every HMC accept goes the same way and the estimates
    # agree to ~1e-12 nats; other draws move them by Monte Carlo noise (~0.1 nats here)
    model, x = _model_and_data(n=9, alpha=0.8)
    kw = dict(n_chains=6, n_steps=30, leapfrog=4, batch_size=4, seed=2)
    fast, slow = _ais_both_ways(model, x, monkeypatch, **kw)
    assert fast.shape == (9,) and torch.allclose(fast, slow, rtol=0, atol=1e-9)
    assert (ais_log_px(model, x, **{**kw, "seed": 3}) - slow).abs().max() > 1e-3      # the test can see draws


def test_ais_float32_fused_within_rounding_of_unfused(monkeypatch):
    # float32: the gradients differ by rounding (~4e-7 relative); measured with model seeds 0-4: max |difference|
    # 0 to 1.2e-4 nats (two float32 ulps at ~548 nats), where another AIS seed moves the estimates by 1-2 nats
    model, x = _model_and_data(n=12, dtype=torch.float32, hidden=(60, 40), d=6, seed=1)
    fast, slow = _ais_both_ways(model, x, monkeypatch, n_chains=8, n_steps=40, leapfrog=5, batch_size=6, seed=1)
    assert (fast - slow).abs().max() < 2e-3


def test_on_a_device_without_blocks_it_takes_the_chains_whole():
    # the path a GPU takes (no BLOCK_ELEMENTS entry: one block), traced on the meta device
    model, x = _model_and_data(dtype=torch.float32)
    model = model.to("meta")
    f = fused_log_lik_and_grad(model, x.to("meta"))
    assert f.samples_per_block is None
    ll, g = f(torch.empty(6, x.shape[0], 5, device="meta"))
    assert ll.shape == (6, x.shape[0]) and g.shape == (6, x.shape[0], 5) and g.device.type == "meta"


def test_gradient_only_calls_skip_the_value_and_give_the_same_gradient(monkeypatch):
    model, x = _model_and_data(alpha=0.6)
    monkeypatch.setitem(fused.BLOCK_ELEMENTS, "cpu", 4 * x[0].numel() * x.shape[0])      # several blocks
    z = torch.randn(9, x.shape[0], 5, dtype=torch.float64) * 2
    f = fused_log_lik_and_grad(model, x)
    ll, g = f(z)
    none, g_only = f(z, value=False)
    assert none is None and torch.equal(g_only, g)
    assert torch.equal(f(z)[0], ll)                   # a value call after a gradient-only one: nothing stale
