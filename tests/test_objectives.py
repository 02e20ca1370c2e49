import math
import warnings

import pytest
import torch

from vaelab.data import load_dataset, subset
from vaelab.data.text import BOS, EOS, PAD
from vaelab.metrics import decoder_only_nll, iw_log_px
from vaelab.metrics.collapse import is_collapsed, latent_usage
from vaelab.models import build_model
from vaelab.objectives import elbo_loss, iwae_loss, kl_warmup, log_importance_weights, make_objective
from vaelab.objectives.elbo import decoder_only_loss
from vaelab.train import TrainConfig, build_objective, fit, train

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


# ---------------------------------------------------------------------------------------------------------------
# 'lm': the decoder alone with z = 0 (the language-model baseline of the remedies table)
# ---------------------------------------------------------------------------------------------------------------
LM_V, LM_T, LM_D = 11, 6, 3


def _lstm_vae(seed=0):
    torch.manual_seed(seed)
    return build_model("lstm", (LM_T,), LM_D, [16], vocab_size=LM_V, embed_dim=8)


def _sentences(n, seed=0):
    """Words (ids >= 4), then EOS, then PAD; lengths 1..T tokens including EOS."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(4, LM_V, (n, LM_T), generator=g)
    lengths = torch.randint(1, LM_T + 1, (n,), generator=g)
    pos = torch.arange(LM_T)[None]
    x = torch.where(pos == lengths[:, None] - 1, torch.tensor(EOS), x)
    return torch.where(pos >= lengths[:, None], torch.tensor(PAD), x)


def test_lm_objective_is_the_decoders_nll_at_z_zero_and_sends_no_gradient_to_the_encoder():
    model = _lstm_vae().eval()
    x = _sentences(16)
    loss, stats = decoder_only_loss(model, x)
    with torch.no_grad():
        # the reference: -log p(x | z = 0) per sentence, averaged; a code drawn from the prior gives another value
        ref = -model.decode(torch.zeros(16, LM_D)).log_prob(x).mean()
        z = 2 * torch.randn(16, LM_D, generator=torch.Generator().manual_seed(1))
        other = -model.decode(z).log_prob(x).mean()
    torch.testing.assert_close(loss.detach(), ref, rtol=1e-6, atol=1e-6)
    assert abs(float(other - ref)) > 1e-2, "z = 0 and a random z give the same loss: the test cannot tell them apart"
    assert float(stats["kl"]) == 0.0 and float(stats["elbo"]) == pytest.approx(-float(ref), rel=1e-6)
    loss.backward()
    enc = [p.grad for p in model.encoder.parameters()]
    assert all(g is None or float(g.abs().max()) == 0.0 for g in enc), "the LM objective sent a gradient to the encoder"
    dec = {n: p.grad for n, p in model.decoder.named_parameters()}
    # every decoder weight that x reaches gets a gradient (init.weight multiplies z = 0, so only its bias does)
    for name in ("embed.weight", "init.bias", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "out.weight", "out.bias"):
        assert dec[name] is not None and float(dec[name].abs().max()) > 0, name


def test_lm_objective_has_no_parameters():
    obj = build_objective("lm")
    assert obj.params == {} and obj.trains_encoder is False
    with pytest.raises(ValueError, match=r"objective='lm' has no parameter 'beta'"):
        build_objective("lm", beta=0.5)
    with pytest.raises(ValueError, match=r"'free_bits'"):
        make_objective("lm", free_bits=0.25)


def test_lm_objective_trains_the_decoder_only_and_does_not_warn_of_collapse():
    cfg = TrainConfig(dataset="synthetic_text", model="lstm", objective="lm", latent_dim=2, hidden=[16], epochs=1,
                      batch_size=32, train_size=128)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, history = train(cfg, device="cpu", progress=False)
    assert len(history) == 1 and history[0]["kl"] == 0.0
    assert not [w for w in caught if "collapse" in str(w.message)], [str(w.message) for w in caught]
    # the idle encoder looks collapsed by fit's own criterion: only trains_encoder=False keeps the warning away
    x = load_dataset("synthetic_text", "train").x[:128]
    assert is_collapsed(latent_usage(model, x)), "this check needs a config whose idle encoder looks collapsed"

    # fit with 'lm' on a model of our own: the encoder's weights stay exactly as built, the decoder's move
    ds = subset(load_dataset("synthetic_text", "train"), 128)
    torch.manual_seed(3)
    model = build_model("lstm", ds.meta["shape"], 2, [16], vocab_size=ds.meta["vocab_size"], embed_dim=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, ds, "lm", epochs=1, batch_size=32, device="cpu", progress=False)
    assert not [w for w in caught if "collapse" in str(w.message)]
    after = model.state_dict()
    enc = [k for k in after if k.startswith("encoder.")]
    assert enc and all(torch.equal(after[k], before[k]) for k in enc), "the LM objective moved the encoder"
    assert not torch.equal(after["decoder.out.weight"], before["decoder.out.weight"]), "the decoder did not train"


def _step_by_step_nll(decoder, z, x):
    """-log p(x|z) (N,) one token at a time through the LSTM cell: an independent reference."""
    state = decoder._state(z)
    tok = torch.full((x.shape[0], 1), BOS)
    out = torch.zeros(x.shape[0])
    for t in range(x.shape[1]):
        h, state = decoder.lstm(torch.cat([decoder.embed(tok), z[:, None]], -1), state)
        logp = decoder.out(h[:, 0]).log_softmax(-1).gather(1, x[:, t:t + 1])[:, 0]
        out -= torch.where(x[:, t] != PAD, logp, torch.zeros(()))
        tok = x[:, t:t + 1]
    return out


def test_decoder_only_nll_is_the_exact_nll_of_an_lm_model_in_any_batch_size():
    model, _ = train(TrainConfig(dataset="synthetic_text", model="lstm", objective="lm", latent_dim=2, hidden=[16],
                                 epochs=1, batch_size=32, train_size=128), device="cpu", progress=False)
    x = load_dataset("synthetic_text", "test").x[:50]
    whole = decoder_only_nll(model, x, batch_size=50)
    torch.testing.assert_close(decoder_only_nll(model, x, batch_size=7), whole, rtol=1e-5, atol=1e-5)
    # -log p(x) of the language model is -log p(x | z = 0), scored token by token
    with torch.no_grad():
        exact = _step_by_step_nll(model.decoder, torch.zeros(50, 2), x)
        lm_loss = float(decoder_only_loss(model, x)[0])
    torch.testing.assert_close(whole, exact, rtol=1e-5, atol=1e-5)
    assert float(whole.min()) > 0 and whole.shape == (50,)
    # and its mean is what the 'lm' objective minimised
    assert lm_loss == pytest.approx(float(exact.mean()), rel=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        decoder_only_nll(model, x, batch_size=0)
