"""`vaelab eval` on an SA-VAE run reports the refined ELBO it was trained for (Kim et al. 2018), beside the
encoder's; vaelab.metrics.savae.refined_elbo against closed forms of probabilistic PCA."""
import json
import math

import pytest
import torch

from vaelab.metrics.savae import refined_elbo, refined_elbo_report
from vaelab.train import load_checkpoint, save_checkpoint

from helpers import ppca_log_px, ppca_vae, vaelab_cli as cli

SVI = {"svi_steps": 0, "svi_lr": 0.1, "svi_momentum": 0.5, "svi_clip": None}


def test_eval_of_a_savae_run_reports_the_refined_elbo_and_an_elbo_run_does_not(tmp_path):
    run = tmp_path / "savae"
    r = cli("train", "--dataset", "digits", "--objective", "savae", "--latent-dim", "2", "--hidden", "32",
            "--epochs", "3", "--train-size", "300", "--batch-size", "50", "--svi-steps", "5", "--svi-lr", "0.1",
            "--device", "cpu", "--out", str(run))
    assert r.returncode == 0, r.stderr[-2000:]
    r = cli("eval", str(run), "--iw-samples", "10", "--points", "200", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(r.stdout)
    assert rep["svi_steps"] == 5 and rep["svi_init"] == "encoder" and rep["n"] == 200
    assert 0 < rep["elbo_refined_se"] < 1 and 0 < rep["elbo_refined_gain_se"] < 1
    # refinement does not lower the ELBO beyond noise (unpaired: the two estimates use different draws) ...
    assert rep["elbo_refined"] >= rep["elbo"] - 3 * math.hypot(rep["elbo_se"], rep["elbo_refined_se"]), rep
    # ... and, paired on common draws, the K steps the model was trained for raise it by more than 3 SE
    assert rep["elbo_refined_gain"] > 3 * rep["elbo_refined_gain_se"], rep
    # the same weights labelled as a plain ELBO run: no refined keys
    model, payload = load_checkpoint(run / "checkpoint.pt")
    plain = tmp_path / "elbo"
    save_checkpoint(plain / "checkpoint.pt", model, train_config={**payload["train_config"], "objective": "elbo"})
    r = cli("eval", str(plain), "--iw-samples", "10", "--points", "200", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    rep2 = json.loads(r.stdout)
    assert not {"elbo_refined", "elbo_refined_se", "svi_steps"} & set(rep2)
    assert abs(rep2["elbo"] - rep["elbo"]) < 4 * rep["elbo_se"]        # the same encoder ELBO, up to its draws


def within_4_se(estimate, exact):
    """Mean over examples of estimate - exact is 0 within 4 standard errors (independent draws per example)."""
    diff = (estimate - exact).double()
    return abs(float(diff.mean())) < 4 * float(diff.std()) / diff.numel() ** 0.5


def test_refined_elbo_starts_from_the_encoder_or_from_the_prior_for_svi():
    # pPCA with the exact posterior as its encoder: from the encoder, E[ELBO_0] = log p(x); from the prior
    # ('svi'), ELBO_0 = E_{N(0, I)} log N(x; Wz + b, s² I) = -D/2 log(2π s²) - (|x - b|² + tr WᵀW) / (2 s²).
    model, W, b, s2 = ppca_vae(exact_encoder=True)
    x = torch.randn(300, 5, generator=torch.Generator().manual_seed(0))
    state = torch.get_rng_state()
    enc = refined_elbo(model, x, {"objective": "savae", **SVI}, n_samples=20)
    assert within_4_se(enc, ppca_log_px(x, W, b, s2))
    prior = refined_elbo(model, x, {"objective": "svi", **SVI}, n_samples=20)
    D = x.shape[1]
    assert within_4_se(prior, -0.5 * D * math.log(2 * math.pi * s2) - (((x - b) ** 2).sum(-1) + (W ** 2).sum()) / (2 * s2))
    assert float((enc - prior).mean()) > 1.0              # far apart: which start is used matters
    assert torch.equal(torch.get_rng_state(), state)
    rep = refined_elbo_report(model, x, {"objective": "vae+svi", **SVI}, n_samples=5)
    assert rep["elbo_refined_gain"] == 0.0 and rep["svi_steps"] == 0 and rep["svi_init"] == "encoder"


def test_refined_elbo_needs_an_savae_run():
    model, *_ = ppca_vae()
    with pytest.raises(ValueError, match="objective='elbo'"):
        refined_elbo(model, torch.zeros(2, 5), {"objective": "elbo", **SVI})
    with pytest.raises(ValueError, match="svi_lr"):
        refined_elbo(model, torch.zeros(2, 5), {"objective": "savae", "svi_steps": 2})


def test_compare_refined_pairs_two_models_on_common_noise():
    """A model against itself differs by exactly 0 with SE 0 (common noise and draws); each side's ELBO after K
    steps is elbo_of on refined_posteriors' q_K with the same seed."""
    from vaelab.metrics.savae import compare_refined, elbo_of, refined_posteriors
    from vaelab.models.vae import build_model

    torch.manual_seed(0)
    model = build_model("mlp", (6,), 2, [8])
    x = torch.bernoulli(torch.full((12, 6), 0.4), generator=torch.Generator().manual_seed(1))
    settings = dict(steps=3, lr=0.05, momentum=0.5, clip=None)
    out = compare_refined(model, model, x, n_samples=20, seed=3, **settings)
    for key in ("elbo_0", "elbo_K", "gain"):
        assert out[f"diff_{key}"] == 0.0 and out[f"diff_{key}_se"] == 0.0
    _, qk = refined_posteriors(model, x, seed=3, **settings)
    assert out["base_elbo_K"] == pytest.approx(float(elbo_of(model, x, qk, 20, 3).mean()), rel=1e-6)
    assert out["base_gain"] == pytest.approx(out["base_elbo_K"] - out["base_elbo_0"], abs=1e-6)
    other = build_model("mlp", (6,), 2, [8])          # another encoder and decoder: a real difference
    assert compare_refined(model, other, x, n_samples=20, seed=3, **settings)["diff_elbo_K"] != 0.0
