"""Posterior collapse: it happens, the diagnostics see it, and the remedies behave as their papers define."""
import math
import warnings

import pytest
import torch

from vaelab.data.text import synthetic_text
from vaelab.metrics.collapse import is_collapsed, latent_usage, perplexity
from vaelab.metrics.latent import linear_probe, mutual_information_stats
from vaelab.models import build_model
from vaelab.objectives import cyclical_kl_weight, free_bits_kl, kl_schedule, make_objective
from vaelab.train import TrainConfig, fit, train
from vaelab.train.aggressive import AggressiveEncoderTraining


def test_free_bits_kl_value_and_gradient():
    kl_dim = torch.tensor([[0.1, 1.0, 0.4], [0.3, 2.0, 0.0]], requires_grad=True)   # batch means .2, 1.5, .2
    value = free_bits_kl(kl_dim, 0.5)
    assert math.isclose(float(value.detach()), 0.5 + 1.5 + 0.5, rel_tol=1e-6)
    value.backward()
    # below the floor a dimension is free (zero gradient); above it, d/dKL_ij of the batch mean = 1/B
    assert kl_dim.grad.tolist() == [[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]]
    assert math.isclose(float(free_bits_kl(kl_dim.detach(), 0.0)), 1.9, rel_tol=1e-6)


def test_free_bits_floors_the_batch_mean_kl_of_each_dimension_not_each_example():
    # MATH.md: Σ_j max(λ, KL_j) with KL_j the minibatch mean. Here examples sit on both sides of λ = 0.5 in
    # dimensions 0 and 1, so flooring each example first, mean_b max(λ, KL_bj), gives other numbers.
    kl_dim = torch.tensor([[0.1, 0.0, 2.0],
                           [1.3, 0.8, 1.0]], dtype=torch.float64, requires_grad=True)
    # batch means 0.7, 0.4, 1.5 -> max(0.5, .) = 0.7, 0.5, 1.5: total 2.7
    # (per example: (0.5 + 1.3)/2 + (0.5 + 0.8)/2 + 1.5 = 3.05)
    value = free_bits_kl(kl_dim, 0.5)
    assert abs(float(value.detach()) - 2.7) < 1e-12
    value.backward()
    # d/dKL_bj = 1/B in a dimension whose batch mean is above λ (dims 0 and 2), 0 where it is below (dim 1);
    # per example it would be 1/B only for the examples above λ: [[0, 0, .5], [.5, .5, .5]]
    assert kl_dim.grad.tolist() == [[0.5, 0.0, 0.5], [0.5, 0.0, 0.5]]


def test_free_bits_loss_is_the_reconstruction_plus_the_floored_batch_mean_kl():
    from helpers import ppca_vae
    model = ppca_vae(exact_encoder=True)[0].double()
    x = 2 * torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        q = model.encode(x)
        kl = 0.5 * (q.mu ** 2 + q.logvar.exp() - 1 - q.logvar)          # (B, d) by hand, nats
    floor = 1.5
    values = torch.cat([kl.flatten(), kl.mean(0)])
    assert float((values / floor - 1).abs().min()) > 0.05              # no KL near the kink of max(λ, .)
    want = kl.mean(0).clamp(min=floor).sum()
    per_example = kl.clamp(min=floor).mean(0).sum()
    assert float(per_example - want) > 0.1                             # the batch straddles the floor
    loss, stats = make_objective("freebits", free_bits=floor)(model, x)
    assert abs(float(loss.detach() - stats["rec"]) - float(want)) < 1e-9


def test_cyclical_schedule_values():
    # 100 steps, 4 cycles of 25 steps, rising over the first half (12.5 steps) of each
    expected = {0: 0.0, 5: 0.4, 10: 0.8, 12: 0.96, 13: 1.0, 24: 1.0, 25: 0.0, 30: 0.4, 99: 1.0}
    for step, w in expected.items():
        assert math.isclose(cyclical_kl_weight(step, 100, 4), w, abs_tol=1e-12), step
    assert cyclical_kl_weight(10, 100, 1, ratio=0.2) == 0.5
    assert kl_schedule(30, steps_per_epoch=10, epochs=10, cycles=4) == 0.4
    # without cycles: the linear warm-up over `warmup` epochs
    assert kl_schedule(5, steps_per_epoch=10, epochs=3, warmup=1.0) == 0.5
    assert kl_schedule(15, steps_per_epoch=10, epochs=3, warmup=1.0) == 1.0
    with pytest.raises(ValueError, match="choose one KL schedule"):
        kl_schedule(0, steps_per_epoch=10, epochs=3, warmup=1.0, cycles=2)
    with pytest.raises(ValueError, match="ratio"):
        cyclical_kl_weight(0, 10, 1, ratio=0.0)


def test_fit_applies_the_cyclical_schedule():
    data = torch.rand(40, 1, 8, 8).round()
    model = build_model("mlp", (1, 8, 8), 2, [8])
    h = fit(model, data, epochs=4, batch_size=10, kl_cycles=2, collapse_warning=False)
    # 16 steps, 2 cycles of 8, ramp over 4 steps: per-epoch mean weights (0+.25+.5+.75)/4 and 1
    assert [round(r["kl_weight"], 6) for r in h] == [0.375, 1.0, 0.375, 1.0]


def test_bad_remedy_settings_are_clear_errors():
    with pytest.raises(ValueError, match="free_bits .* must be >= 0"):
        make_objective("freebits", free_bits=-0.1)
    with pytest.raises(ValueError, match="no parameter 'free_bits'.*objective='freebits' uses it"):
        make_objective("elbo", free_bits=0.5)
    with pytest.raises(ValueError, match="objective='remedy' is not one of"):
        make_objective("remedy")
    model = build_model("mlp", (4,), 2, [8], likelihood="gaussian")
    with pytest.raises(TypeError, match="free_bits"):      # fit takes the loop's options only
        fit(model, torch.randn(8, 4), "elbo", epochs=1, free_bits=0.5)
    with pytest.raises(ValueError, match="kl_cycles"):
        fit(model, torch.randn(8, 4), epochs=1, kl_cycles=-1)
    with pytest.raises(ValueError, match="word_dropout=0.2 is not used by model='mlp' \\(model 'lstm' uses it\\)"):
        TrainConfig(model="mlp", word_dropout=0.2, epochs=1)


TEXT = dict(dataset="synthetic_text", model="lstm", latent_dim=4, hidden=[32], batch_size=64, train_size=1000,
            epochs=4, diagnostics=True)


def probe_beats_chance(mu, labels, n_train, n_se=3.0):
    """A linear probe fitted on the first n_train codes mu (N, d) reads `labels` on the rest above chance (the
    held-out majority-class rate) by more than n_se binomial standard errors. Returns (ok, (acc, chance, se))."""
    acc = linear_probe(mu[:n_train], labels[:n_train], mu[n_train:], labels[n_train:])
    test = labels[n_train:]
    chance = float(test.bincount().max()) / test.numel()
    se = math.sqrt(chance * (1 - chance) / test.numel())
    return acc > chance + n_se * se, (acc, chance, se)


def test_collapse_reproduces_with_the_strong_decoder_and_warns():
    with pytest.warns(UserWarning, match=r"posterior collapse: KL < 0.1 nats .* active units 0"):
        model, h = train(TrainConfig(**TEXT))
    assert h[-1]["kl"] < 0.1 and h[-1]["active_units"] == 0 and h[-1]["mi"] < 0.2
    assert math.isclose(h[-1]["ppl"], math.exp(h[-1]["nll_per_token"]), rel_tol=1e-9)
    valid = synthetic_text("valid", n=2000)
    usage = latent_usage(model, valid.x[:300])
    assert is_collapsed(usage)
    # ... and it is the decoder that ignores z, not a blind encoder: the means still move with the sentence
    # (std ~0.01 here; exactly 0 for an encoder that cannot see x) and still tell the topics apart
    # (accuracy 0.47 against a chance of 0.27, SE 0.014, with seed 0; 0.33 at worst over seeds 0-2)
    with torch.no_grad():
        mu = model.encode(valid.x).mu
    assert float(mu.std(0).max()) > 1e-4
    ok, stats = probe_beats_chance(mu, valid.y[:, 0], n_train=1000)
    assert ok, stats


def test_the_same_lstm_encoder_uses_the_latent_when_the_decoder_needs_z():
    """The non-collapsed counterpart: with word dropout 1 every decoder input but BOS is <unk>, so the words can
    only be predicted through z. The same LSTM encoder then carries information: KL, MI (> 4 SE) and active
    units well above 0. (It mostly codes the sentence length here, not the topic.)"""
    cfg = {**TEXT, "diagnostics": False, "word_dropout": 1.0, "lr": 1e-2, "batch_size": 32, "epochs": 6,
           "kl_warmup": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no collapse warning
        model, _ = train(TrainConfig(**cfg))
    x = synthetic_text("valid", n=600).x
    usage = latent_usage(model, x)
    with torch.no_grad():
        q = model.encode(x)
    mi = mutual_information_stats(q.mu, q.logvar, generator=torch.Generator().manual_seed(0))
    assert usage["kl"] > 0.3 and usage["active_units"] >= 1, usage
    assert mi["mi"] > 0.3 and mi["mi"] > 4 * mi["mi_se"], mi


def test_free_bits_holds_every_dimension_near_its_floor():
    floor = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no collapse warning either
        _, h = train(TrainConfig(**TEXT, objective="freebits", free_bits=floor))
    kl_dims = h[-1]["kl_per_dim"]
    # The KL term has no gradient below the floor, so no dimension is pushed to 0 as in the collapsed run
    # (about 0.005 nats each). Adam's momentum can carry a dimension some way below λ (0.19 nats at worst over
    # seeds 0-11 here; the mean over dimensions stayed above 0.38), hence bounds loose enough for any CPU.
    assert min(kl_dims) > 0.1 * floor and sum(kl_dims) / len(kl_dims) > 0.6 * floor, kl_dims
    # (KL is not information: the encoder may pay the floor with a narrow q around a constant mean,
    # which is why the notebook reports MI and active units beside KL.)


def test_aggressive_inner_loop_moves_only_the_encoder():
    model = build_model("mlp", (4,), 2, [8], likelihood="gaussian")
    data = torch.randn(64, 4)
    loss_fn = make_objective("elbo")
    draw = lambda: data[torch.randint(64, (16,))]  # noqa: E731
    agg = AggressiveEncoderTraining(model, loss_fn, 1e-2, draw, max_inner=20, check_every=5)
    dec0 = [p.detach().clone() for p in model.decoder.parameters()]
    enc0 = [p.detach().clone() for p in model.encoder.parameters()]
    agg.encoder_steps(model, 1.0)
    assert all(torch.equal(a, p) for a, p in zip(dec0, model.decoder.parameters()))
    assert not all(torch.equal(a, p) for a, p in zip(enc0, model.encoder.parameters()))
    assert 5 <= agg.inner_steps[0] <= 20
    # decoder_only(): the outer optimizer then moves the decoder alone
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    enc1 = [p.detach().clone() for p in model.encoder.parameters()]
    loss, _ = loss_fn(model, data)
    loss.backward()
    agg.decoder_only()
    opt.step()
    assert all(torch.equal(a, p) for a, p in zip(enc1, model.encoder.parameters()))
    assert not all(torch.equal(a, p) for a, p in zip(dec0, model.decoder.parameters()))


def test_aggressive_switches_off_once_mi_stops_rising():
    model = build_model("mlp", (4,), 2, [8], likelihood="gaussian")
    agg = AggressiveEncoderTraining(model, make_objective("elbo"), 1e-3, lambda: torch.randn(4, 4))
    assert [agg.end_epoch(e, mi)["aggressive"] for e, mi in enumerate([0.1, 0.3, 0.2, 0.5], 1)] == [1, 1, 1, 0]
    assert agg.switched_off_after == 3 and not agg.active


def test_aggressive_training_in_fit_records_its_phase():
    _, h = train(TrainConfig(**{**TEXT, "epochs": 2}, objective="aggressive"))
    assert h[0]["aggressive"] == 1.0 and h[0]["inner_steps"] >= 10 and "mi" in h[0]


def test_perplexity_is_corpus_level():
    nll, tokens = torch.tensor([2.0, 6.0]), torch.tensor([1, 3])
    per_token, ppl = perplexity(nll, tokens)
    assert per_token == 2.0 and math.isclose(ppl, math.exp(2.0))


def test_cli_trains_text_with_remedy_flags_and_eval_reports_ppl(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    def run(*args):
        return subprocess.run([sys.executable, "-m", "vaelab", *args], capture_output=True, text=True, env=env)

    out = tmp_path / "fb"
    r = run("train", "--dataset", "synthetic_text", "--model", "lstm", "--objective", "freebits", "--free-bits",
            "0.3", "--kl-cycles", "2", "--word-dropout", "0.2", "--latent-dim", "2", "--hidden", "32",
            "--epochs", "4", "--train-size", "1000", "--batch-size", "32", "--diagnostics", "--device", "cpu",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    hist = json.loads((out / "history.json").read_text())
    assert hist["config"]["free_bits"] == 0.3 and hist["config"]["kl_cycles"] == 2
    assert len(hist["epochs"][-1]["kl_per_dim"]) == 2 and "ppl" in hist["epochs"][-1]
    r = run("eval", str(out), "--iw-samples", "5", "--points", "100", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    # ppl = exp(per-token NLL) and 1 < ppl < vocabulary size for any model better than uniform guessing
    assert math.isclose(report["ppl"], math.exp(report["nll_per_token"]), rel_tol=1e-9)
    assert 1.0 < report["ppl"] < 54
    r = run("train", "--dataset", "digits", "--model", "lstm", "--epochs", "1", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "model='lstm' cannot train on dataset='digits'" in r.stderr
    r = run("train", "--dataset", "synthetic_text", "--model", "lstm", "--objective", "freebits", "--free-bits",
            "-1", "--epochs", "1", "--out", str(tmp_path / "y"))
    assert r.returncode == 2 and "must be >= 0 nats" in r.stderr


def test_collapse_widget_redraws_the_chosen_run():
    from vaelab.widgets import CollapseExplorer

    def hist(kl):
        return [{"epoch": e, "rec": 10.0 - e, "kl": kl, "mi": kl / 2, "kl_weight": 1.0, "kl_per_dim": [kl / 2] * 2,
                 "active_units": int(kl > 0)} for e in (1, 2, 3)]

    runs = {("none", "lstm"): hist(0.0), ("freebits", "lstm"): hist(1.0), ("none", "mlp"): hist(3.0)}
    w = CollapseExplorer(runs)
    assert w.draws == 1 and w.last_data is runs[("none", "lstm")]
    w.remedy.value = "freebits"
    assert w.draws == 2 and w.last_data is runs[("freebits", "lstm")] and w.last_error is None
    w.decoder.value = "mlp"                       # no freebits run for mlp: the error is shown, not raised
    assert isinstance(w.last_error, KeyError) and w.output.outputs[0]["output_type"] == "error"
    w.remedy.value = "none"
    assert w.last_data is runs[("none", "mlp")] and w.last_error is None
    with pytest.raises(ValueError, match="remedy='cyclical' is not among"):
        CollapseExplorer(runs, remedy="cyclical")


def test_collapse_view_needs_diagnostics():
    from vaelab.plots import collapse_view

    with pytest.raises(ValueError, match="diagnostics=True"):
        collapse_view([{"epoch": 1, "kl": 0.0, "rec": 1.0}])


def test_remedy_config_maps_names_to_settings():
    from vaelab.train import remedy_config

    base = TrainConfig(dataset="synthetic_text", model="lstm", epochs=10)
    assert remedy_config(base, "freebits").free_bits == 0.25 and remedy_config(base, "freebits").objective == "freebits"
    assert remedy_config(base, "cyclical").kl_cycles == 3 and remedy_config(base, "kl_warmup").kl_warmup == 5
    assert remedy_config(base, "aggressive", kl_warmup=0.0).kl_warmup == 0.0
    with pytest.raises(ValueError, match="remedy='dropout' is not one of"):
        remedy_config(base, "dropout")
    with pytest.raises(ValueError, match="needs model='lstm'"):
        remedy_config(TrainConfig(), "word_dropout")


def test_remedies_benchmark_smoke(tmp_path):
    """benchmarks/bench_collapse_remedies.py at a tiny size: one row per decoder x remedy, well-formed JSON."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from vaelab.objectives import REMEDIES

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_collapse_remedies.py"
    out = tmp_path / "table.json"
    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(script), "--text-train", "100", "--text-epochs", "1", "--img-epochs", "1",
                        "--iw-samples", "2", "--n-test", "60", "--hidden", "16", "--device", "cpu", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(out.read_text())
    keys = {(row["variant"], row["remedy"]) for row in report["rows"]}
    image_remedies = [m for m in REMEDIES if m != "word_dropout"]
    assert keys == {("lstm", m) for m in REMEDIES} | {(v, m) for v in ("pixelcnn", "mlp") for m in image_remedies}
    assert all(row["iw_nll"] > 0 and 0 <= row["probe_acc"] <= 1 for row in report["rows"])
    assert "| lstm | none |" in r.stdout and set(report["seconds"]) == {"text", "images"}
