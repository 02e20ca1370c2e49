"""Short-run inference (objective 'sri') and the latent EBM prior (prior 'ebm'): training, evaluation, checks."""
import math

import pytest
import torch

from helpers import ppca_log_px, ppca_vae
from vaelab.inference.langevin import posterior_langevin, prior_langevin
from vaelab.metrics.encoder_free import encoder_free_report
from vaelab.metrics.likelihood import iw_log_px
from vaelab.models import build_model
from vaelab.models.distributions import DiagGaussian
from vaelab.objectives.ebm import ebm_prior_loss
from vaelab.train import TrainConfig, build_objective, fit, load_checkpoint, save_checkpoint, train


def _mlp(prior="gaussian", seed=0):
    torch.manual_seed(seed)
    return build_model("mlp", (6,), 2, hidden=(16,), likelihood="gaussian", prior=prior, prior_hidden=(8,),
                       prior_steps=5, prior_step_size=0.3)


def test_the_sri_decoder_gradient_is_that_of_log_p_x_given_z_k_with_z_k_held_fixed():
    model, x = _mlp().train(), torch.randn(5, 6)
    sri = build_objective("sri", langevin_steps=4, langevin_step_start=0.5, langevin_step_end=0.1,
                          langevin_temperature=0.2)
    loss, stats = sri(model, x, generator=torch.Generator().manual_seed(3))
    got = torch.autograd.grad(loss, list(model.decoder.parameters()) + [model.obs_logvar])
    # the same chain by hand (same generator stream), then -log p(x | z_K) with z_K a constant
    z_k = posterior_langevin(model, x, steps=4, step_size=("linear", 0.5, 0.1), temperature=0.2,
                             generator=torch.Generator().manual_seed(3)).z
    assert not z_k.requires_grad
    want = torch.autograd.grad(-model.decode(z_k).log_prob(x).mean(),
                               list(model.decoder.parameters()) + [model.obs_logvar])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-7)
    assert float(stats["rec"]) == pytest.approx(float(loss))
    enc = list(model.encoder.parameters())
    assert torch.autograd.grad(loss, enc, allow_unused=True) == (None,) * len(enc)   # no encoder is trained


def test_with_an_ebm_prior_the_loss_adds_the_contrastive_prior_loss_on_the_same_samples():
    model, x = _mlp("ebm").train(), torch.randn(5, 6)
    sri = build_objective("sri", langevin_steps=3)
    loss, stats = sri(model, x, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(1)
    z_k = posterior_langevin(model, x, steps=3, step_size=("linear", 0.8, 0.05), temperature=0.2, prior=model.prior,
                             generator=gen).z
    z_p = prior_langevin(model.prior, 5, steps=5, step_size=0.3, generator=gen).z
    ebm, _ = ebm_prior_loss(model.prior, z_k, z_p)
    want = -model.decode(z_k).log_prob(x).mean() + ebm
    assert float(loss) == pytest.approx(float(want), rel=1e-6)
    assert {"f_post", "f_prior", "ebm_loss"} <= set(stats)


def test_sri_and_the_ebm_prior_train_through_train_and_round_trip_through_a_checkpoint(tmp_path):
    cfg = TrainConfig(dataset="digits", binarize="static", objective="sri", prior="ebm", latent_dim=2, hidden=[32],
                      epochs=2, train_size=64, batch_size=32, langevin_steps=5, prior_hidden=[16], prior_steps=10)
    model, history = train(cfg, device="cpu", progress=False)
    assert len(history) == 2 and {"rec", "ebm_loss", "f_post", "f_prior"} <= set(history[-1])
    assert all(math.isfinite(r["loss"]) for r in history)
    loaded, payload = load_checkpoint(save_checkpoint(tmp_path / "c.pt", model, train_config=cfg.to_dict()))
    assert loaded.prior is not None and payload["train_config"]["prior"] == "ebm"
    z = torch.randn(4, 2)
    torch.testing.assert_close(loaded.prior.f(z), model.prior.f(z))
    with pytest.raises(ValueError, match="prior_langevin"):
        model.sample(3)


@pytest.mark.parametrize("edits, match", [
    ({"prior": "ebm"}, "prior='ebm' trains with objective='sri'"),
    ({"objective": "sri", "kl_warmup": 2.0}, "no KL"),
    ({"objective": "sri", "langevin_steps": 0}, "langevin_steps"),
    ({"objective": "sri", "langevin_step_start": 0.0}, "langevin_step_start"),
    ({"objective": "sri", "langevin_step_end": -0.1}, "langevin_step_end"),
    ({"objective": "sri", "langevin_temperature": -1.0}, "langevin_temperature"),
    ({"objective": "elbo", "langevin_steps": 5}, "langevin_steps=5 is not used by objective='elbo'"),
    ({"objective": "sri", "prior_steps": 5}, "prior_steps=5 is not used by prior='gaussian'"),
    ({"objective": "sri", "prior": "ebm", "prior_step_size": 0.0}, "prior_step_size"),
    ({"objective": "sri", "prior": "boltzmann"}, "prior='boltzmann' is not one of"),
])
def test_bad_langevin_and_prior_settings_name_the_option(edits, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**edits)


def test_fit_refuses_nothing_but_trains_sri_with_no_encoder_gradient():
    model, x = _mlp(), torch.randn(40, 6)
    before = [p.clone() for p in model.encoder.parameters()]
    history = fit(model, x, build_objective("sri", langevin_steps=3), epochs=2, batch_size=20, progress=False)
    assert len(history) == 2
    for b, p in zip(before, model.encoder.parameters()):
        assert torch.equal(b, p)                     # no encoder is trained: its weights never move


def test_an_ebm_prior_with_f_zero_scores_exactly_like_the_gaussian_prior():
    model, x = _mlp("ebm"), torch.randn(6, 6)
    with torch.no_grad():
        for p in model.prior.parameters():
            p.zero_()                                # f = 0: p_a = N(0, I), log Z = 0
    q = DiagGaussian(torch.zeros(6, 2), torch.zeros(6, 2))
    a = iw_log_px(model, x, 50, seed=0, proposal=q)
    b = iw_log_px(model, x, 50, seed=0, proposal=q, log_prior=model.prior.log_prob_unnormalised)
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="log_prior needs an explicit proposal"):
        iw_log_px(model, x, 5, log_prior=model.prior.log_prob_unnormalised)


def test_the_encoder_free_log_px_matches_the_closed_form_ppca_likelihood():
    model, W, b, s2 = ppca_vae()
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(40, 2, generator=gen)
    x = z @ W.T + b + math.sqrt(s2) * torch.randn(40, 5, generator=gen)
    report = encoder_free_report(model, x, iw_samples=200, chains=8, steps=100, step_size=0.3, seed=0,
                                 log_z_samples=1000)
    truth = float(-ppca_log_px(x, W, b, s2).mean())
    # the proposal is fitted to chains on the exact posterior, so the weights barely vary and the estimate sits on
    # the truth (the mean over examples differs from the mean truth by the IS error alone, well under 0.05 nats)
    assert abs(report["iw_nll"] - truth) < 0.05, (report["iw_nll"], truth)
    assert report["log_z"] == 0.0 and report["accept_rate"] > 0.5 and report["active_units"] == 2


def test_the_cli_trains_sri_with_an_ebm_prior_and_eval_reports_the_langevin_estimate(tmp_path):
    import json

    from helpers import vaelab_cli

    out = tmp_path / "run"
    r = vaelab_cli("train", "--dataset", "pinwheel", "--objective", "sri", "--prior", "ebm", "--latent-dim", "2",
                   "--hidden", "32", "--epochs", "2", "--train-size", "200", "--batch-size", "50",
                   "--langevin-steps", "5", "--prior-hidden", "16", "--prior-steps", "10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = vaelab_cli("eval", str(out), "--points", "20", "--iw-samples", "50", "--chains", "4", "--chain-steps", "20",
                   "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert {"iw_nll", "iw_nll_se", "log_z", "log_z_se", "active_units", "accept_rate"} <= set(report)
    assert math.isfinite(report["iw_nll"]) and report["log_z_se"] > 0 and report["n"] == 20
    r = vaelab_cli("train", "--objective", "sri", "--langevin-steps", "0", "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "langevin_steps" in r.stderr and "Traceback" not in r.stderr
