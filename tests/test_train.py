import os
import warnings

import pytest
import torch

from helpers import count_host_reads

import vaelab
from vaelab.train.objectives import build_objective, objective_params
from vaelab.data import subset
from vaelab.models import build_model
from vaelab.train import (NonFiniteLossError, TrainConfig, cache_path, fit, load_checkpoint, load_or_train,
                          save_checkpoint)


@pytest.fixture(scope="module")
def digits():
    return vaelab.load_dataset("digits", "train")


def _model(ds, d=4, seed=0):
    torch.manual_seed(seed)
    return build_model("mlp", ds.meta["shape"], d, hidden=(64,), likelihood="cbernoulli")


def test_loss_decreases_on_digits_in_a_few_epochs(digits):
    h = fit(_model(digits), digits, epochs=6, batch_size=64, lr=3e-3, progress=False)
    losses = h.column("loss")
    assert len(losses) == 6
    assert losses[0] - losses[-1] > 0.15 * abs(losses[0])      # falls by 15 %, whatever the sign of the loss
    for row in h:
        # plain ELBO, weight 1; the tolerance scales with the terms (rec < 0 for a continuous Bernoulli)
        assert abs(row["loss"] - (row["rec"] + row["kl"])) < 1e-4 * (abs(row["rec"]) + abs(row["kl"]))
        assert row["seconds"] > 0


def test_same_seed_gives_the_same_numbers(digits):
    runs = [fit(_model(digits), digits, epochs=2, seed=7, progress=False) for _ in range(2)]
    assert runs[0].column("loss") == runs[1].column("loss")
    other = fit(_model(digits), digits, epochs=2, seed=8, progress=False)
    assert other.column("loss") != runs[0].column("loss")


def test_kl_warmup_ramps_the_weight(digits):
    h = fit(_model(digits), digits, epochs=3, kl_warmup=2, batch_size=256, progress=False)
    weights = h.column("kl_weight")
    assert weights[0] < weights[1] < weights[2] == 1.0


def poisoned_at(call: int, bad: float):
    """An ELBO objective whose `call`-th call returns loss + bad (nan or inf); `.calls`, and `.snapshot`: the
    weights just before that call's update."""
    def objective(m, x, kl_weight=1.0):
        objective.calls += 1
        loss, stats = vaelab.objectives.elbo_loss(m, x)
        if objective.calls == call:
            objective.snapshot = {k: v.clone() for k, v in m.state_dict().items()}
            return loss + bad, stats
        return loss, stats
    objective.calls, objective.snapshot = 0, None
    return objective


def test_nan_guard_names_the_step_and_keeps_the_last_good_weights(digits):
    model, poisoned = _model(digits), poisoned_at(5, float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"nan at epoch 1, step 4 \(last finite loss: -?\d+\.\d+\)") as err:
        fit(model, digits, poisoned, epochs=2, batch_size=64, progress=False)
    assert err.value.step == 4
    for k, v in model.state_dict().items():
        assert torch.isfinite(v).all()
        torch.testing.assert_close(v, poisoned.snapshot[k])


def test_nan_guard_in_a_later_epoch_after_which_losses_are_finite_again(digits):
    model, poisoned = _model(digits), poisoned_at(30, float("inf"))    # epoch 2, its 9th step (21 per epoch)
    with pytest.raises(NonFiniteLossError, match=r"inf at epoch 2, step 29 \(last finite loss: -?\d+\.\d+\)") as err:
        fit(model, digits, poisoned, epochs=3, batch_size=64, progress=False)
    assert err.value.step == 29 and len(err.value.history) == 1 and poisoned.calls == 42   # epoch 2 ran to its end
    for k, v in model.state_dict().items():       # the 12 finite steps after the bad one changed nothing
        torch.testing.assert_close(v, poisoned.snapshot[k])


def test_nan_guard_at_the_first_step_of_an_epoch_names_the_previous_epochs_last_loss(digits):
    model, poisoned = _model(digits), poisoned_at(22, float("nan"))    # epoch 2, its first step (21 per epoch)
    with pytest.raises(NonFiniteLossError, match=r"nan at epoch 2, step 21 \(last finite loss: -?\d+\.\d+\)") as err:
        fit(model, digits, poisoned, epochs=2, batch_size=64, progress=False)
    assert err.value.model is model and err.value.step == 21


def test_nan_guard_names_the_first_bad_step_when_several_steps_of_the_epoch_are_bad(digits):
    """Calls 5, 6 and 12 of epoch 1 (steps 4, 5, 11; 21 steps per epoch) return nan, inf, nan: the message names
    step 4, its loss and the last finite loss before it (step 3's), not the epoch's last bad step."""
    bad_calls = {5: float("nan"), 6: float("inf"), 12: float("nan")}
    seen = []

    def objective(m, x, kl_weight=1.0):
        loss, stats = vaelab.objectives.elbo_loss(m, x)
        seen.append(float(loss))
        return loss + bad_calls.get(len(seen), 0.0), stats

    with pytest.raises(NonFiniteLossError) as err:
        fit(_model(digits), digits, objective, epochs=2, batch_size=64, progress=False)
    assert err.value.step == 4 and len(seen) == 21 and len(err.value.history) == 0
    msg = str(err.value)
    assert "loss became nan at epoch 1, step 4 " in msg, msg
    assert f"(last finite loss: {round(seen[3], 4)})" in msg, msg
    assert round(seen[3], 4) != round(seen[10], 4)      # step 10 precedes the last bad step: the message differs


@pytest.mark.parametrize("objective, options", [("elbo", {}), ("iwae", {}), ("infovae", {"alpha": 1.0, "lam": 10.0}),
                                                ("freebits", {"free_bits": 0.1}), ("elbo", {"kl_cycles": 2}),
                                                ("savae", {"svi_steps": 2, "hvp": "fd"}),
                                                ("vae+svi+kl", {"svi_steps": 2})])
def test_the_step_loop_never_waits_for_the_device(digits, monkeypatch, objective, options):
    """No host sync per step: tensor values are read (bool, float, int, item, tolist, numpy) a fixed number of
    times per epoch, however many steps the epoch has. On a GPU a read per step would stall the queue."""
    reads = count_host_reads(monkeypatch)
    counts = []
    data = subset(digits, 320)
    for batch_size in (160, 32):                   # 2 and 10 steps per epoch
        model = _model(digits)
        reads["n"] = 0
        own = objective_params(objective)            # the objective carries its options; the rest are the loop's
        fit(model, data, build_objective(objective, **{k: v for k, v in options.items() if k in own}), epochs=2,
            batch_size=batch_size, progress=False, collapse_warning=False,
            **{k: v for k, v in options.items() if k not in own})
        counts.append(reads["n"])
    assert counts[0] == counts[1] and counts[0] <= 8, counts


class _NanGradient(torch.autograd.Function):
    """The identity forward; a NaN gradient backward: a finite loss whose gradient is not."""

    @staticmethod
    def forward(ctx, t):
        return t.clone()

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


def test_a_nan_gradient_with_a_finite_loss_trips_the_guard_and_keeps_the_weights(digits):
    calls, kept = {"n": 0}, {}

    def nan_gradient_at_step_5(m, x, kl_weight=1.0):
        calls["n"] += 1
        loss, stats = vaelab.objectives.elbo_loss(m, x, kl_weight=kl_weight)
        if calls["n"] == 5:                        # step 4 (from 0): snapshot the weights its update would change
            kept.update({k: v.clone() for k, v in m.state_dict().items()})
            loss = _NanGradient.apply(loss)
        return loss, stats

    model = _model(digits)
    with pytest.raises(NonFiniteLossError) as err:
        fit(model, digits, nan_gradient_at_step_5, epochs=2, batch_size=64, progress=False)
    msg = str(err.value)
    assert err.value.step == 4 and "gradient norm became nan" in msg and "at epoch 1, step 4 " in msg, msg
    assert calls["n"] == 21                         # the epoch ran on (no per-step host sync) but nothing moved
    for k, v in model.state_dict().items():
        assert torch.equal(v, kept[k]), k           # no update from the bad step on: the weights are those before
        assert torch.isfinite(v).all(), k


def test_keyboard_interrupt_returns_the_partial_history(digits):
    calls = {"n": 0}

    def interrupting(m, x, kl_weight=1.0):
        calls["n"] += 1
        if calls["n"] == 30:   # during epoch 2 of 21 steps each (1297 / 64)
            raise KeyboardInterrupt
        return vaelab.objectives.elbo_loss(m, x)

    h = fit(_model(digits), digits, interrupting, epochs=5, batch_size=64, progress=False)
    assert h.interrupted and len(h) == 1


def test_checkpoint_round_trip(tmp_path, digits):
    model = _model(digits)
    fit(model, digits, epochs=1, progress=False)
    path = save_checkpoint(tmp_path / "ck" / "checkpoint.pt", model, train_config={"dataset": "digits"},
                           history=[{"epoch": 1, "loss": 1.0}])
    loaded, payload = load_checkpoint(path)
    x = digits.x[:16]
    torch.testing.assert_close(loaded.encode(x).mu, model.encode(x).mu)
    torch.testing.assert_close(loaded.decode(torch.ones(2, 4)).logits, model.decode(torch.ones(2, 4)).logits)
    assert payload["vaelab_version"] == vaelab.__version__ and payload["train_config"] == {"dataset": "digits"}
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]   # no temp file left behind


def test_a_failed_checkpoint_write_leaves_the_old_file_intact(tmp_path, digits, monkeypatch):
    model = _model(digits)
    path = save_checkpoint(tmp_path / "checkpoint.pt", model)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["checkpoint.pt"]


def test_load_or_train_caches_and_rebuilds_a_corrupt_entry(monkeypatch):
    cfg = TrainConfig(dataset="digits", latent_dim=2, hidden=[32], epochs=1, train_size=200)
    model, hist = load_or_train(cfg, device="cpu")
    path = cache_path(cfg)
    assert path.exists()

    import vaelab.train.cache as cache_mod
    with monkeypatch.context() as m:
        m.setattr(cache_mod, "train", lambda *a, **k: pytest.fail("should have loaded from the cache"))
        again, hist2 = load_or_train(cfg, device="cpu")
    torch.testing.assert_close(again.encode(torch.ones(1, 1, 8, 8)).mu, model.encode(torch.ones(1, 1, 8, 8)).mu)
    assert hist2.column("loss") == hist.column("loss")

    path.write_bytes(b"not a checkpoint")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rebuilt, _ = load_or_train(cfg, device="cpu")
    assert any("retraining" in str(w.message) for w in caught)
    load_checkpoint(path)  # rewritten as a valid checkpoint
    torch.testing.assert_close(rebuilt.encode(torch.ones(1, 1, 8, 8)).mu, model.encode(torch.ones(1, 1, 8, 8)).mu)


def test_different_configs_get_different_cache_entries():
    a, b = TrainConfig(epochs=1), TrainConfig(epochs=2)
    assert a.key() != b.key() and a.key() == TrainConfig(epochs=1).key()
    with pytest.raises(ValueError, match="unknown TrainConfig keys \\['epoch'\\]"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "epochs must be an integer >= 1, got 0"),
    (dict(batch_size=-4), "batch_size must be an integer >= 1, got -4"),
    (dict(lr=0.0), r"lr must be in \(0.0, inf\), got 0.0"),
    (dict(objective="vae"), "objective='vae' is not one of"),
    (dict(device="tpu"), "device='tpu'"),
])
def test_bad_fit_arguments_name_the_argument_and_value(digits, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fit(_model(digits), digits, progress=False, **kwargs)


def test_wrong_input_shape_is_a_clear_error(digits):
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 8, 8\), got \(3, 64\)"):
        _model(digits).encode(torch.zeros(3, 64))


def test_dynamic_binarization_feeds_binary_batches(digits):
    ds = vaelab.load_dataset("digits", "train", binarize="dynamic")
    seen = []

    def spy(m, x, kl_weight=1.0):
        seen.append(x)
        return vaelab.objectives.elbo_loss(m, x)

    fit(_model(digits), ds, spy, epochs=2, batch_size=2000, progress=False)
    assert all(set(x.unique().tolist()) <= {0.0, 1.0} for x in seen)
    assert not torch.equal(seen[0].sum(0), seen[1].sum(0))  # a fresh draw each epoch


def test_encoder_width_can_differ_from_the_decoder_and_round_trips(tmp_path):
    cfg = TrainConfig(dataset="digits", latent_dim=2, hidden=[32], encoder_hidden=[64, 16], epochs=1, train_size=100)
    model, _ = load_or_train(cfg, device="cpu")
    widths = [m.out_features for m in model.encoder.net if isinstance(m, torch.nn.Linear)]
    assert widths == [64, 16, 4]                      # encoder 64-16 -> (mu, logvar) of a 2-D latent
    assert [m.out_features for m in model.decoder.net if isinstance(m, torch.nn.Linear)] == [32, 64]
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "c.pt", model))
    torch.testing.assert_close(loaded.encode(torch.ones(1, 1, 8, 8)).mu, model.encode(torch.ones(1, 1, 8, 8)).mu)
    with pytest.raises(ValueError, match="encoder_hidden=.*is not used by model='conv' \\(model 'mlp' uses it\\)"):
        load_or_train(TrainConfig(model="conv", encoder_hidden=[8]), device="cpu")
