"""InfoVAE: the loss formula, its special cases as exact equalities, the sign check, training, CLI."""
import json
import os
import subprocess
import sys

import pytest
import torch

from vaelab.models import build_model
from vaelab.train.objectives import build_objective
from vaelab.objectives import elbo_loss, infovae_loss, make_objective, mmd, mmd_weight
from vaelab.train import TrainConfig, fit, train


@pytest.fixture
def model_and_batch():
    torch.manual_seed(0)
    model = build_model("mlp", (1, 8, 8), 3, hidden=(32,))
    x = torch.rand(40, 1, 8, 8)
    return model, x


def seeded(fn, seed=123):
    torch.manual_seed(seed)
    return fn()


@pytest.mark.parametrize("kl_weight", [1.0, 0.3])
def test_alpha_0_lambda_1_is_exactly_the_elbo(model_and_batch, kl_weight):
    model, x = model_and_batch
    ref, ref_stats = seeded(lambda: elbo_loss(model, x, kl_weight=kl_weight))
    got, stats = seeded(lambda: infovae_loss(model, x, alpha=0.0, lam=1.0, kl_weight=kl_weight))
    assert torch.equal(got, ref)
    assert float(stats["mmd_weight"]) == 0.0 and torch.equal(stats["elbo"], ref_stats["elbo"])


@pytest.mark.parametrize("beta", [0.25, 4.0, 0.3, 0.7])
@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_alpha_1_minus_beta_lambda_beta_is_the_beta_vae(model_and_batch, beta, kernel):
    model, x = model_and_batch
    ref, _ = seeded(lambda: elbo_loss(model, x, beta=beta))
    got, stats = seeded(lambda: infovae_loss(model, x, alpha=1 - beta, lam=beta, kernel=kernel))
    assert float(stats["mmd_weight"]) == 0.0          # 1-β+β-1 is 0 up to round-off, and treated as 0
    if beta in (0.25, 4.0):                            # 1 - (1 - β) == β exactly in binary floating point
        assert torch.equal(got, ref)
    else:
        assert torch.allclose(got, ref, rtol=1e-6, atol=0)


@pytest.mark.parametrize("lam", [1.0, 500.0])
def test_alpha_1_is_the_mmd_vae_with_no_kl_term(model_and_batch, lam):
    model, x = model_and_batch
    rec_only, _ = seeded(lambda: elbo_loss(model, x, beta=0.0))    # E[-log p(x|z)] with the same z

    def reference():
        z = model.encode(x).rsample()                  # the same draws, in the same order, as the loss makes
        prior = torch.randn_like(z)
        return mmd(z, prior, "imq")
    got, stats = seeded(lambda: infovae_loss(model, x, alpha=1.0, lam=lam))
    d = seeded(reference)
    assert torch.equal(got, rec_only + lam * d)
    assert torch.equal(stats["mmd"], d.detach())


def test_general_weights_match_the_formula_term_by_term(model_and_batch):
    model, x = model_and_batch
    alpha, lam = 0.5, 10.0
    got, stats = seeded(lambda: infovae_loss(model, x, alpha=alpha, lam=lam, kernel="rbf"))

    def reference():
        q = model.encode(x)
        z = q.mu + torch.exp(0.5 * q.logvar) * torch.randn_like(q.mu)
        prior = torch.randn_like(z)
        logits = model.decoder(z)
        rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (q.mu ** 2 + q.logvar.exp() - 1 - q.logvar).sum(1)
        return rec.mean() + (1 - alpha) * kl.mean() + (alpha + lam - 1) * mmd(z, prior, "rbf")
    want = seeded(reference)
    assert float(got) == pytest.approx(float(want), rel=1e-5)
    assert float(stats["mmd_weight"]) == pytest.approx(9.5)
    assert set(stats) >= {"loss", "rec", "kl", "elbo", "mmd", "mmd_weight"}
    assert all(v.dim() == 0 and not v.requires_grad for v in stats.values())


def test_the_prior_samples_are_fresh_for_every_batch(model_and_batch):
    model, x = model_and_batch
    torch.manual_seed(0)
    _, a = infovae_loss(model, x, alpha=1.0, lam=10.0)
    _, b = infovae_loss(model, x, alpha=1.0, lam=10.0)
    assert float(a["mmd"]) != float(b["mmd"])


@pytest.mark.parametrize("alpha, lam", [(0.0, 0.001), (0.0, 0.5), (0.3, 0.6)])
def test_a_negative_mmd_weight_raises_and_explains_the_sign(model_and_batch, alpha, lam):
    model, x = model_and_batch
    for call in (lambda: mmd_weight(alpha, lam), lambda: infovae_loss(model, x, alpha=alpha, lam=lam),
                 lambda: make_objective("infovae", alpha=alpha, lam=lam)):
        with pytest.raises(ValueError, match="MAXIMISE") as err:
            call()
        assert "alpha + lambda - 1" in str(err.value) and "< 0" in str(err.value)


def test_weights_at_the_boundary_and_bad_options():
    assert mmd_weight(1.0, 0.0) == 0.0 and mmd_weight(1.0, 1000.0) == 1000.0
    with pytest.raises(ValueError, match="lambda must be in"):
        mmd_weight(2.0, -0.5)
    with pytest.raises(ValueError, match="'imq', 'rbf'"):
        make_objective("infovae", alpha=1.0, lam=10.0, kernel="gauss")
    with pytest.raises(ValueError, match="objective='infovae' uses them"):
        make_objective("elbo", alpha=1.0, lam=10.0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0.0, 1.0\], got -1.0"):   # InfoVAE: alpha in [0, 1]
        make_objective("infovae", alpha=-1.0, lam=1.5)


def test_fit_and_train_accept_infovae_and_record_mmd():
    x = torch.rand(64, 1, 8, 8)
    model = build_model("mlp", (1, 8, 8), 2, hidden=(16,), likelihood="cbernoulli")   # grey x
    history = fit(model, x, build_objective("infovae", alpha=1.0, lam=100.0, kernel="rbf"), epochs=2, batch_size=32)
    assert len(history) == 2 and {"mmd", "mmd_weight"} <= set(history[-1])
    assert history[-1]["mmd_weight"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="MAXIMISE"):
        train(TrainConfig(objective="infovae", alpha=0.0, lam=0.001, epochs=1, train_size=50))


def test_mmd_vae_matches_the_prior_better_than_an_unregularised_autoencoder():
    # alpha=1: lambda=0 leaves only reconstruction (an autoencoder with noisy codes); lambda=10 adds the
    # MMD pull of q(z) to N(0, I). Measured on held-out digits with the eval metric; the MMD-VAE must also
    # keep information in z (a collapsed code would match the prior trivially).
    from vaelab.data import load_dataset
    from vaelab.metrics import encode_all, mmd_prior, mutual_information
    test = load_dataset("digits", "test")
    base = dict(latent_dim=2, hidden=[128, 128], epochs=60, objective="infovae", alpha=1.0)
    scores, mi = {}, {}
    for lam in (0.0, 10.0):
        model, _ = train(TrainConfig(**base, lam=lam))
        mu, logvar = encode_all(model, test.x)
        scores[lam], mi[lam] = mmd_prior(mu, logvar), mutual_information(mu, logvar)
    assert scores[10.0] < scores[0.0] / 10, scores
    assert mi[10.0] > 2.0, mi


def _cli(*args):
    env = {**os.environ, "VAELAB_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-m", "vaelab", *args], capture_output=True, text=True, env=env)


def test_cli_trains_infovae_and_eval_json_reports_mmd_prior(tmp_path):
    out = tmp_path / "run"
    r = _cli("train", "--objective", "infovae", "--alpha", "1", "--lambda", "100", "--kernel", "rbf",
             "--latent-dim", "2", "--hidden", "16", "--epochs", "1", "--train-size", "200", "--device", "cpu",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "history.json").read_text())["config"]
    assert (cfg["objective"], cfg["alpha"], cfg["lam"], cfg["kernel"]) == ("infovae", 1.0, 100.0, "rbf")
    r = _cli("eval", str(out), "--iw-samples", "5", "--points", "100", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert isinstance(report["mmd_prior"], float)
    r = _cli("train", "--objective", "infovae", "--alpha", "0", "--lambda", "0.001", "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "MAXIMISE" in r.stderr and "-0.999" in r.stderr
