"""SA-VAE training modes (Kim et al. 2018, Table 1): K = 0 is the VAE, gradient routing of each mode,
reproducible draws from a generator, bad input, and the CLI flags."""
import pytest
import torch

from vaelab.inference import savae_loss
from vaelab.inference.savae import HVP_BACKENDS, refine_lambda
from vaelab.objectives import elbo_loss
from vaelab.train.objectives import build_objective as make_objective

from savae_helpers import data, flat_grad, mlp


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


@pytest.mark.parametrize("mode, hvp", [("savae", "exact"), ("savae", "fd"), ("vae+svi+kl", "exact"),
                                       ("svi", "exact")])
def test_a_generator_makes_the_loss_reproducible_without_touching_the_global_rng(mode, hvp):
    model, x = mlp(), data(6)
    state = torch.get_rng_state()
    runs = []
    for seed in (11, 11, 12):
        loss, stats = savae_loss(model, x, mode=mode, svi_steps=3, svi_lr=0.2, svi_clip=None, hvp=hvp,
                                 generator=torch.Generator().manual_seed(seed))
        runs.append((loss.detach(), stats["elbo0"], flat_grad(loss, model)))
    assert torch.equal(torch.get_rng_state(), state)          # every draw came from the private generators
    (l1, e1, g1), (l2, e2, g2), (l3, e3, g3) = runs
    assert torch.equal(l1, l2) and torch.equal(e1, e2) and torch.equal(g1, g2)
    # another seed: other draws (ε moves elbo0; the SVI noise and ε move the loss and its gradient)
    assert not torch.equal(e1, e3) and not torch.equal(l1, l3) and not torch.equal(g1, g3)
    with pytest.raises(TypeError, match="generator"):
        savae_loss(model, x, mode=mode, svi_steps=1, generator=0)


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
    loss, _ = make_objective("vae+svi+kl", svi_steps=3, svi_lr=0.1)(model, x, kl_weight=1.0,
                                                                     generator=torch.Generator().manual_seed(0))
    g = torch.autograd.grad(loss, list(model.encoder.parameters()))
    q = model.encode(x)
    gen = torch.Generator().manual_seed(0)                 # the documented draws: ε (B, d), then noise (K, B, d)
    torch.randn(q.mu.shape, dtype=q.mu.dtype, generator=gen)
    noise = torch.randn(3, *q.mu.shape, dtype=q.mu.dtype, generator=gen)
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
