"""beta_sweep: the rate-distortion trade-off on real data, and a second call served from the cache."""
import pytest
import torch

import vaelab.train.cache as cache_module
from vaelab import TrainConfig, load_dataset
from vaelab.train import beta_sweep

BASE = TrainConfig(dataset="digits", latent_dim=4, hidden=[64, 64], epochs=15, seed=0)


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models: one thread is as fast, and immune to other processes competing for a 2-core CPU.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("betas, err, match", [
    ([], ValueError, r"betas=\[\] is empty"),
    ([0.5, -1.0], ValueError, r">= 0.*got -1\.0"),
    ([1.0, float("nan")], ValueError, r"nan"),
    ([1.0, 1.0], ValueError, "repeats"),
    ("1.0", TypeError, "list of numbers"),
    ([1.0, "2"], TypeError, "'2'"),
])
def test_bad_betas_are_refused_before_any_training(betas, err, match, monkeypatch):
    monkeypatch.setattr(cache_module, "train", lambda *a, **k: pytest.fail("trained despite bad input"))
    with pytest.raises(err, match=match):
        beta_sweep(betas, BASE)


def test_bad_base_is_refused():
    with pytest.raises(ValueError, match="iwae"):
        beta_sweep([1.0], TrainConfig(dataset="digits", objective="iwae"))
    with pytest.raises(TypeError, match="TrainConfig"):
        beta_sweep([1.0], "digits")


def test_rate_falls_and_distortion_rises_with_beta_then_the_cache_serves_it(monkeypatch):
    results = beta_sweep([0.1, 4.0], BASE, device="cpu")
    low, high = results
    assert [r["beta"] for r in results] == [0.1, 4.0]
    assert [r["config"].objective for r in results] == ["beta", "beta"]
    assert low["rate"] > high["rate"] + 1.0, (low["rate"], high["rate"])
    assert low["distortion"] < high["distortion"], (low["distortion"], high["distortion"])

    # rate is the mean analytic KL on the TEST split: recompute it from the encoder directly.
    test = load_dataset("digits", "test")
    with torch.no_grad():
        kl = low["model"].encode(test.x).kl_standard().mean()
    assert low["rate"] == pytest.approx(float(kl), rel=1e-5)
    # distortion is a one-sample estimate of E_q[-log p(x|z)]: compare with a 20-sample average.
    with torch.no_grad():
        q = low["model"].encode(test.x)
        rec20 = -low["model"].decode(q.rsample(20)).log_prob(test.x).mean()
    assert low["distortion"] == pytest.approx(float(rec20), rel=0.05)
    assert low["elbo"] == pytest.approx(-(low["rate"] + low["distortion"]))

    # Second call: every model comes from the cache; training must not run.
    monkeypatch.setattr(cache_module, "train", lambda *a, **k: pytest.fail("retrained a cached beta"))
    again = beta_sweep([0.1, 4.0], BASE, device="cpu")
    assert [r["rate"] for r in again] == pytest.approx([r["rate"] for r in results], rel=1e-6)
    for a, b in zip(again, results):
        for (name, pa), pb in zip(a["model"].state_dict().items(), b["model"].state_dict().values()):
            assert torch.equal(pa, pb), name
    assert len(again[0]["history"]) == BASE.epochs


def test_torch_global_rng_is_left_alone():
    cfg = TrainConfig(dataset="digits", latent_dim=2, hidden=[16], epochs=1)
    torch.manual_seed(123)
    expected = torch.rand(3)
    for _ in ("trained", "cached"):
        torch.manual_seed(123)
        beta_sweep([1.0], cfg, device="cpu")
        assert torch.equal(torch.rand(3), expected)
