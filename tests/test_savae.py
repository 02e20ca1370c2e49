"""SA-VAE (Kim et al. 2018), the refinement itself: gradients through it against brute-force autograd,
momentum/clipping semantics by hand, the LSTM and PixelCNN decoders, finite-difference HVPs, the report.
The training modes and their API are in test_savae_modes.py."""
import pytest
import torch

from vaelab.inference import savae_loss
from vaelab.inference.savae import HVP_BACKENDS, cudnn_off_needed, refine_lambda
from vaelab.models import build_model

from savae_helpers import data, f_by_hand, flat_grad, mlp


def _clipped(gm, gl, clip):
    """g·min(1, c/‖g‖) per example, and ‖g‖ (B,): written independently of vaelab."""
    n = torch.cat([gm, gl], -1).norm(dim=-1)
    if clip is None:
        return gm, gl, n
    s = torch.clamp(clip / n, max=1.0)[:, None]
    return gm * s, gl * s, n


def brute_force(model, x, noise, eps, lr, m, clip, norms=None):
    """Unrolled K steps with create_graph, written independently of vaelab: the total loss mean_i f_i(λ_K).
    norms: a list receiving each step's per-example gradient norms ‖∇_λ f_i(λ_k)‖ (B,), before the clip."""
    mu, lv = model.encoder(x)
    lv = lv.clamp(-12.0, 8.0)
    vm, vl = torch.zeros_like(mu), torch.zeros_like(lv)
    for k in range(noise.shape[0]):
        gm, gl = torch.autograd.grad(f_by_hand(model, x, mu, lv, noise[k]).sum(), (mu, lv), create_graph=True)
        gm, gl, n = _clipped(gm, gl, clip)
        if norms is not None:
            norms.append(n.detach())
        vm, vl = m * vm - gm, m * vl - gl
        mu, lv = mu + lr * vm, lv + lr * vl
    return f_by_hand(model, x, mu, lv, eps).mean()


CLIP_MARGIN = 0.05     # no gradient norm within 5 % of the clip threshold, at any step


def step_norms(model, x, noise, lr, m, clip):
    """(K, B) per-example gradient norms at every SVI step of the trajectory that clip c produces."""
    norms = []
    brute_force(model, x, noise, noise[0], lr, m, clip, norms)
    return torch.stack(norms)


def clip_off_the_kink(model, x, noise, lr, m, min_each_side=4):
    """A clip threshold c that clips some (example, step) pairs and not others, with every gradient norm
    ‖g‖ at every step at least CLIP_MARGIN away from c in relative terms (|‖g‖/c - 1|): at ‖g‖ = c the clip
    has a kink, and which one-sided derivative a reference takes there depends on the last bit of rounding.
    The clip changes the trajectory, so each candidate (a geometric midpoint between consecutive sorted
    norms of the unclipped run) is checked on the trajectory it produces. Returns (c, margin, norms)."""
    sorted_norms = step_norms(model, x, noise, lr, m, None).flatten().sort().values
    best = None
    for a, b in zip(sorted_norms[:-1], sorted_norms[1:]):
        c = float((a * b).sqrt())
        norms = step_norms(model, x, noise, lr, m, c)
        clipped = int((norms > c).sum())
        if min(clipped, norms.numel() - clipped) < min_each_side:
            continue
        margin = float((norms / c - 1).abs().min())
        if best is None or margin > best[1]:
            best = (c, margin, norms)
    return best


def library(model, x, noise, eps, lr, m, clip, hvp):
    q = model.encode(x)
    muk, lvk = refine_lambda(model, x, q.mu, q.logvar, steps=noise.shape[0], lr=lr, momentum=m, clip=clip,
                             hvp=hvp, noise=noise)
    return f_by_hand(model, x, muk, lvk, eps).mean()


@pytest.mark.parametrize("hvp", HVP_BACKENDS)
@pytest.mark.parametrize("clip", [None, "half"])
def test_total_derivative_matches_brute_force_unrolled_autograd(hvp, clip):
    model, x = mlp(), data()
    g = torch.Generator().manual_seed(3)
    noise, eps = torch.randn(4, 5, 2, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    if clip == "half":   # clip some (example, step) pairs and not others, every norm well away from the kink
        clip, margin, norms = clip_off_the_kink(model, x, noise, 0.3, 0.6)
        assert margin > CLIP_MARGIN, f"a gradient norm lies within {margin:.1%} of the clip {clip}: {norms}"
    want = flat_grad(brute_force(model, x, noise, eps, 0.3, 0.6, clip), model)
    got = flat_grad(library(model, x, noise, eps, 0.3, 0.6, clip, hvp), model)
    enc = sum(p.numel() for p in model.encoder.parameters())
    for sl in (slice(0, enc), slice(enc, None)):                       # encoder φ and decoder θ separately
        assert float(want[sl].norm()) > 1e-3
        rel = float((got[sl] - want[sl]).norm() / want[sl].norm())
        assert rel < 1e-4, (hvp, clip, sl, rel)
    # the refinement matters: the gradient differs from the plain VAE's at λ_0 by far more than the tolerance
    vae = flat_grad(library(model, x, noise[:0], eps, 0.3, 0.6, clip, hvp), model)
    assert float((vae - want).norm() / want.norm()) > 1e-2
    if clip is not None:  # ... and so does the clip: the unclipped total derivative is another one
        free = flat_grad(brute_force(model, x, noise, eps, 0.3, 0.6, None), model)
        assert float((free - want).norm() / want.norm()) > 1e-2


def test_small_steps_do_not_lower_the_elbo_on_average():
    model, x = mlp(2), data(200, seed=4)
    q = model.encode(x)
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(400, 200, 2, generator=g, dtype=torch.float64)

    def elbo(mu, lv):           # a 400-sample Monte Carlo ELBO per example, on common noise
        return -torch.stack([f_by_hand(model, x, mu, lv, e) for e in eps]).mean(0)

    with torch.no_grad():
        before = elbo(q.mu, q.logvar)
    muk, lvk = refine_lambda(model, x, q.mu, q.logvar, steps=10, lr=0.02, momentum=0.5, differentiable=False)
    with torch.no_grad():
        after = elbo(muk, lvk)
    gain = after - before
    assert float(gain.mean()) > 0 and float(gain.mean()) > 3 * float(gain.std() / 200 ** 0.5)


class Quadratic(torch.nn.Module):
    """A stand-in model whose -ELBO is a known quadratic: decode(z).log_prob(x) = -1/2 |z - x|²."""

    latent_dim, training = 1, False

    def decode(self, z):
        class P:
            @staticmethod
            def log_prob(x):
                return -0.5 * ((z - x) ** 2).sum(-1)
        return P()


def test_momentum_and_clipping_by_hand():
    # f(μ, s) = 1/2 (μ + e^{s/2} ε - a)² + 1/2 (μ² + e^s - 1 - s) with ε = 0: ∇_μ f = 2μ - a, ∇_s f = (e^s - 1)/2.
    # Start μ = 0, s = 0, a = 4: g_0 = (-4, 0). lr η = 0.5, momentum 0.5.
    a = torch.tensor([[4.0]], dtype=torch.float64)
    mu0, s0 = torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64)
    noise = torch.zeros(2, 1, 1, dtype=torch.float64)
    model = Quadratic()
    # no clip: v1 = 4, μ1 = 2; g1 = 0, v2 = 0.5·4 - 0 = 2, μ2 = 2 + 0.5·2 = 3
    mu, s = refine_lambda(model, a, mu0, s0, steps=2, lr=0.5, momentum=0.5, noise=noise, differentiable=False)
    assert float(mu) == pytest.approx(3.0) and float(s) == pytest.approx(0.0)
    # clip c = 1: v1 = 1, μ1 = 0.5; g1 = 2·0.5 - 4 = -3 -> clipped to -1, v2 = 0.5 + 1 = 1.5, μ2 = 0.5 + 0.75 = 1.25
    mu, s = refine_lambda(model, a, mu0, s0, steps=2, lr=0.5, momentum=0.5, clip=1.0, noise=noise,
                          differentiable=False)
    assert float(mu) == pytest.approx(1.25)
    # momentum 0, clip 1: μ1 = 0.5, μ2 = 0.5 + 0.5·1 = 1.0
    mu, _ = refine_lambda(model, a, mu0, s0, steps=2, lr=0.5, momentum=0.0, clip=1.0, noise=noise,
                          differentiable=False)
    assert float(mu) == pytest.approx(1.0)


def lstm(seed=0):
    torch.manual_seed(seed)
    return build_model("lstm", (7,), 3, [16], vocab_size=9, embed_dim=8)


@pytest.mark.parametrize("dtype", [torch.float64])
def test_lstm_decoder_both_backends_agree_on_cpu(dtype):
    model = lstm().to(dtype).eval()
    x = torch.randint(3, 9, (4, 7), generator=torch.Generator().manual_seed(0))
    grads = {}
    for hvp in HVP_BACKENDS:
        torch.manual_seed(1)
        loss, stats = savae_loss(model, x, mode="savae", svi_steps=3, svi_lr=0.2, svi_momentum=0.5, svi_clip=None,
                                 hvp=hvp)
        grads[hvp] = flat_grad(loss, model)
        assert float(stats["elbo"]) > float(stats["elbo0"])     # the refinement raised this batch's ELBO
    rel = float((grads["fd"] - grads["exact"]).norm() / grads["exact"].norm())
    assert rel < 1e-4


def test_cudnn_is_turned_off_only_for_recurrent_models_on_cuda_where_it_cannot_backpropagate():
    rnn, conv = lstm(), build_model("pixelcnn", (1, 8, 8), 2, [8], layers=2, conditioning="global")
    for train in (True, False):
        rnn.train(train), conv.train(train)
        assert cudnn_off_needed(rnn, True, double_backward=True)                  # exact backend: always off
        assert cudnn_off_needed(rnn, True, double_backward=False) == (not train)  # eval-mode RNN backward: off
        assert not cudnn_off_needed(conv, True, double_backward=True)             # convolutions keep cuDNN
        assert not cudnn_off_needed(rnn, False, double_backward=True)             # nothing to do on a CPU


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (cuDNN RNN double backward)")
def test_lstm_exact_backend_on_cuda_with_cudnn():
    model = lstm().cuda()
    x = torch.randint(3, 9, (4, 7), generator=torch.Generator().manual_seed(0)).cuda()
    grads = {}
    for hvp in HVP_BACKENDS:
        for train in (True, False):
            model.train(train)
            torch.manual_seed(1)
            loss, _ = savae_loss(model, x, mode="savae", svi_steps=3, svi_lr=0.2, svi_clip=None, hvp=hvp)
            grads[hvp, train] = flat_grad(loss, model)
    ref = grads["exact", True]
    for k, g in grads.items():
        assert float((g - ref).norm() / ref.norm()) < 1e-2, k          # float32 finite differences


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_fd_hvp_perturbation_is_small_whatever_the_norm_of_v(scale):
    # the reverse loop multiplies v by up to ~1/lr per step, so ‖v‖ spans many orders of magnitude: r·v must
    # stay small (r ∝ 1/‖v‖), and H(c·v) = c·H v must hold at every scale
    from vaelab.inference.savae import fd_hvp
    model, x = mlp(), data()
    q = model.encode(x)
    mu, lv = q.mu.detach().requires_grad_(), q.logvar.detach().requires_grad_()
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(5, 2, generator=g, dtype=torch.float64)
    wm, wl = (scale * torch.randn(5, 2, generator=g, dtype=torch.float64) for _ in range(2))
    def f(m, s, e):
        return f_by_hand(model, x, m, s, e)
    gm, gl = torch.autograd.grad(f(mu, lv, eps).sum(), (mu, lv), create_graph=True)
    dec = list(model.decoder.parameters())
    want = torch.autograd.grad((gm * wm).sum() + (gl * wl).sum(), [mu, lv] + dec)
    hm, hl, ht = fd_hvp(f, mu.detach(), lv.detach(), eps, wm, wl, dec)
    for a, b in zip([hm, hl] + ht, want):
        assert float((a - b).norm() / b.norm()) < 1e-6


def test_report_bounds_and_widget_wiring():
    from vaelab import widgets
    from vaelab.metrics import savae_report
    torch.manual_seed(0)
    model = build_model("mlp", (6,), 2, [8]).eval()
    x = data(64, dtype=torch.float32)
    r = savae_report(model, x, steps=3, lr=0.01, iw_samples=200, n_samples=200)
    # log p(x) >= ELBO(q) for any q: the IW estimate of -log p(x) sits below -ELBO (up to MC noise)
    assert r["iw_nll"] <= -r["elbo_K"] + 0.05 and r["iw_nll"] <= -r["elbo_0"] + 0.05
    assert r["kl"] >= 0 and 0 <= r["active_units"] <= 2
    w = widgets.refinement_path_explorer(model, x[0], steps=1, max_steps=4, lr=0.05)
    assert w.draws == 1 and w.pic["mu"].shape == (5, 2)
    w.steps.value = 4
    assert w.draws == 2 and w.last_error is None
    # the drawn path is the library's refinement path: its last point is the mean of q after 4 steps
    line = next(ln for ln in w.figure.axes[0].lines if ln.get_label() == "path of μ_k")
    assert torch.allclose(torch.tensor(line.get_xydata()[-1], dtype=torch.float32), w.pic["mu"][4])
    with pytest.raises(ValueError, match="latent_dim"):
        widgets.refinement_path_explorer(build_model("mlp", (6,), 3, [8]), x[0])


def test_pixelcnn_decoder_both_backends_agree():
    torch.manual_seed(0)
    model = build_model("pixelcnn", (1, 5, 5), 2, [16], channels=4, layers=2, conditioning="global").double().eval()
    x = torch.bernoulli(torch.full((3, 1, 5, 5), 0.5), generator=torch.Generator().manual_seed(0)).double()
    grads = {}
    for hvp in HVP_BACKENDS:
        torch.manual_seed(1)
        loss, _ = savae_loss(model, x, mode="savae", svi_steps=3, svi_lr=0.1, svi_clip=1.0, hvp=hvp)
        grads[hvp] = flat_grad(loss, model)
    assert float((grads["fd"] - grads["exact"]).norm() / grads["exact"].norm()) < 1e-4
