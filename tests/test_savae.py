"""SA-VAE (Kim et al. 2018): gradients through the refinement against brute-force autograd, special cases,
momentum/clipping semantics by hand, the LSTM decoder, and bad input."""
import pytest
import torch

from vaelab.inference.savae import HVP_BACKENDS, cudnn_off_needed, refine_lambda
from vaelab.models import build_model
from vaelab.inference import savae_loss
from vaelab.objectives import elbo_loss
from vaelab.train.objectives import build_objective as make_objective


def mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return build_model("mlp", (6,), 2, [8]).to(dtype)


def data(b=5, seed=1, dtype=torch.float64):
    return torch.bernoulli(torch.full((b, 6), 0.5), generator=torch.Generator().manual_seed(seed)).to(dtype)


def f_by_hand(model, x, mu, lv, eps):
    """-ELBO per example written out: Bernoulli likelihood of the MLP decoder + analytic Gaussian KL."""
    z = mu + torch.exp(0.5 * lv) * eps
    logits = model.decoder(z)
    rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    return rec + 0.5 * (mu ** 2 + torch.exp(lv) - 1 - lv).sum(-1)


def brute_force(model, x, noise, eps, lr, m, clip):
    """Unrolled K steps with create_graph, written independently of vaelab: the total loss mean_i f_i(λ_K)."""
    mu, lv = model.encoder(x)
    lv = lv.clamp(-12.0, 8.0)
    vm, vl = torch.zeros_like(mu), torch.zeros_like(lv)
    for k in range(noise.shape[0]):
        gm, gl = torch.autograd.grad(f_by_hand(model, x, mu, lv, noise[k]).sum(), (mu, lv), create_graph=True)
        if clip is not None:
            n = torch.cat([gm, gl], -1).norm(dim=-1, keepdim=True)
            s = torch.clamp(clip / n, max=1.0)
            gm, gl = gm * s, gl * s
        vm, vl = m * vm - gm, m * vl - gl
        mu, lv = mu + lr * vm, lv + lr * vl
    return f_by_hand(model, x, mu, lv, eps).mean()


def library(model, x, noise, eps, lr, m, clip, hvp):
    q = model.encode(x)
    muk, lvk = refine_lambda(model, x, q.mu, q.logvar, steps=noise.shape[0], lr=lr, momentum=m, clip=clip,
                             hvp=hvp, noise=noise)
    return f_by_hand(model, x, muk, lvk, eps).mean()


def flat_grad(loss, model):
    gs = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for g, p in zip(gs, model.parameters())])


@pytest.mark.parametrize("hvp", HVP_BACKENDS)
@pytest.mark.parametrize("clip", [None, "half"])
def test_total_derivative_matches_brute_force_unrolled_autograd(hvp, clip):
    model, x = mlp(), data()
    g = torch.Generator().manual_seed(3)
    noise, eps = torch.randn(4, 5, 2, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    if clip == "half":   # clip some examples and not others: the median first-step gradient norm
        q = model.encode(x)
        mu, lv = q.mu.detach().requires_grad_(), q.logvar.detach().requires_grad_()
        gm, gl = torch.autograd.grad(f_by_hand(model, x, mu, lv, noise[0]).sum(), (mu, lv))
        clip = float(torch.cat([gm, gl], -1).norm(dim=-1).median())
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


def test_zero_steps_is_the_vae_exactly():
    model, x = mlp(), data(8)
    for hvp in HVP_BACKENDS:
        torch.manual_seed(5)
        l1, _ = elbo_loss(model, x)
        g1 = flat_grad(l1, model)
        torch.manual_seed(5)
        l2, s2 = savae_loss(model, x, mode="savae", svi_steps=0, hvp=hvp)
        g2 = flat_grad(l2, model)
        assert torch.equal(l1, l2) and torch.equal(g1, g2)
        assert torch.equal(s2["elbo"], s2["elbo0"])


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


@pytest.mark.parametrize("mode", ["svi", "vae+svi", "vae+svi+kl", "savae"])
def test_modes_route_gradients_as_specified(mode):
    model, x = mlp(), data(6)
    torch.manual_seed(0)
    loss, stats = make_objective(mode, svi_steps=2, svi_lr=0.1)(model, x, kl_weight=1.0)
    loss.backward()
    enc = [p.grad for p in model.encoder.parameters()]
    dec = [p.grad for p in model.decoder.parameters()]
    assert all(g is not None and float(g.abs().sum()) > 0 for g in dec)
    if mode == "svi":
        assert all(g is None for g in enc)
    else:
        assert all(g is not None and float(g.abs().sum()) > 0 for g in enc)
    # the loss value is ELBO(λ_K) (plus KL(q_K‖q_0) for vae+svi+kl)
    extra = float(stats.get("kl_qk_q0", 0.0))
    assert float(loss.detach()) == pytest.approx(-float(stats["elbo"]) + extra, rel=1e-10)


def test_vae_svi_kl_encoder_gradient_is_the_kl_to_the_refined_q():
    model, x = mlp(), data(6)
    torch.manual_seed(0)
    loss, _ = make_objective("vae+svi+kl", svi_steps=3, svi_lr=0.1)(model, x, kl_weight=1.0)
    g = torch.autograd.grad(loss, list(model.encoder.parameters()))
    torch.manual_seed(0)
    q = model.encode(x)
    torch.randn(q.mu.shape, dtype=q.mu.dtype)
    noise = torch.randn(3, *q.mu.shape, dtype=q.mu.dtype)
    muk, lvk = refine_lambda(model, x, q.mu, q.logvar, steps=3, lr=0.1, momentum=0.5, clip=5.0, noise=noise,
                             differentiable=False)
    kl = (torch.distributions.kl_divergence(torch.distributions.Normal(muk, torch.exp(0.5 * lvk)),
                                            torch.distributions.Normal(q.mu, q.std))).sum(-1).mean()
    want = torch.autograd.grad(kl, list(model.encoder.parameters()))
    for a, b in zip(g, want):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kw, match", [
    ({"svi_steps": -1}, "svi_steps"), ({"svi_steps": 2.0}, "svi_steps"), ({"svi_lr": 0.0}, "svi_lr"),
    ({"svi_lr": -1.0}, "svi_lr"), ({"svi_momentum": 1.0}, "svi_momentum"), ({"svi_momentum": -0.1}, "svi_momentum"),
    ({"svi_clip": 0.0}, "svi_clip"), ({"hvp": "rop"}, "hvp")])
def test_bad_input_names_the_argument(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_objective("savae", **kw)
    model, x = mlp(), data(2)
    with pytest.raises((ValueError, TypeError), match=match):
        opts = {"steps": 2, "lr": 0.1, "momentum": 0.0, "clip": None, "hvp": "exact"}
        opts.update({k.replace("svi_", "") if k != "svi_steps" else "steps": v for k, v in kw.items()})
        q = model.encode(x)
        refine_lambda(model, x, q.mu, q.logvar, **opts)


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


def test_cli_flags_reach_the_config_and_bad_hvp_is_rejected(tmp_path):
    import json
    import os
    import subprocess
    import sys
    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "vaelab", "train", "--dataset", "digits", "--latent-dim", "2", "--hidden", "16",
            "--epochs", "1", "--train-size", "64", "--batch-size", "32", "--device", "cpu", "--objective", "savae"]
    r = subprocess.run(base + ["--svi-steps", "2", "--svi-lr", "0.05", "--svi-momentum", "0.3", "--svi-clip", "0",
                               "--hvp", "fd", "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "run" / "history.json").read_text())["config"]
    assert (cfg["objective"], cfg["svi_steps"], cfg["svi_lr"], cfg["svi_momentum"], cfg["svi_clip"], cfg["hvp"]) == \
        ("savae", 2, 0.05, 0.3, None, "fd")
    for bad, word in ((["--hvp", "rop"], "hvp"), (["--svi-momentum", "1.0"], "svi_momentum"),
                      (["--svi-steps", "-1"], "svi_steps"), (["--svi-lr", "0"], "svi_lr")):
        r = subprocess.run(base + bad + ["--out", str(tmp_path / "bad")], capture_output=True, text=True, env=env, check=False)
        assert r.returncode != 0 and word in r.stderr.replace("-", "_"), (bad, r.stderr[-500:])


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
