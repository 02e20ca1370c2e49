"""Sharded evaluation (vaelab.metrics.shards): the shards' joined values are the serial estimator's, bit for bit."""
from __future__ import annotations

import pytest
import torch

from vaelab.metrics.gaps import gap_columns, inference_gaps
from vaelab.metrics.likelihood import iw_log_px
from vaelab.metrics.shards import iw_log_px_rows, shard_bounds, sharded_inference_gaps, sharded_iw_log_px
from vaelab.models.vae import build_model


@pytest.fixture(scope="module")
def model_and_x():
    torch.manual_seed(0)
    model = build_model("mlp", (12,), latent_dim=3, hidden=(16,)).eval()
    x = (torch.rand(53, 12, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    return model, x


@pytest.mark.parametrize("n, batch, shards", [(53, 10, 3), (53, 10, 6), (53, 10, 40), (10, 10, 4), (1, 5, 1),
                                              (100, 7, 5)])
def test_shard_bounds_cover_every_row_once_on_batch_boundaries(n, batch, shards):
    bounds = shard_bounds(n, batch, shards)
    rows = [r for a, b in bounds for r in range(a, b)]
    assert rows == list(range(n))
    assert all(a % batch == 0 and b > a for a, b in bounds)
    assert len(bounds) == min(shards, -(-n // batch))
    sizes = [-(-(b - a) // batch) for a, b in bounds]          # batches per shard differ by at most one
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("chunk", [None, 7])
def test_sharded_iw_log_px_is_the_serial_estimate(model_and_x, chunk):
    model, x = model_and_x
    serial = iw_log_px(model, x, 40, batch_size=10, chunk=chunk, seed=5)
    for shards in (2, 3, 6):
        assert torch.equal(sharded_iw_log_px(model, x, 40, shards, batch_size=10, chunk=chunk, seed=5), serial)


def test_a_shard_needs_the_replayed_draws(model_and_x):
    """Without advancing its generator (a fresh one per shard), a shard's values are not the serial ones: the
    equality above is owed to skip_iw_draws, not to a test set too small to tell."""
    model, x = model_and_x
    serial = iw_log_px(model, x, 40, batch_size=10, seed=5)
    fresh = iw_log_px(model, x[20:40], 40, batch_size=10, seed=5)
    assert torch.equal(iw_log_px_rows(model, x, 40, 20, 40, batch_size=10, seed=5), serial[20:40])
    assert not torch.allclose(fresh, serial[20:40])


@pytest.mark.parametrize("fullcov", [False, True])
def test_sharded_gaps_are_the_serial_gaps(model_and_x, fullcov):
    model, x = model_and_x
    kw = dict(iw_samples=30, steps=10, elbo_samples=8, fullcov=fullcov, batch_size=10, seed=2)
    serial = inference_gaps(model, x, **kw)
    sharded = sharded_inference_gaps(model, x, 4, **kw)
    assert set(sharded) == set(serial)
    for key, value in serial.items():
        if key == "per_example":
            assert set(sharded[key]) == set(value)
            assert all(torch.equal(sharded[key][k], v) for k, v in value.items())
        else:
            assert sharded[key] == value, key


def test_sharded_gaps_with_the_default_arguments(model_and_x):
    model, x = model_and_x
    serial = inference_gaps(model, x[:12], iw_samples=20, steps=4, batch_size=5)
    assert sharded_inference_gaps(model, x[:12], 3, iw_samples=20, steps=4, batch_size=5)["log_px"] == serial["log_px"]


def test_bad_shards_are_refused_with_the_argument_named(model_and_x):
    model, x = model_and_x
    with pytest.raises(ValueError, match="rows=.*multiple of batch_size=10"):
        gap_columns(model, x, rows=(5, 20), batch_size=10)
    with pytest.raises(ValueError, match="rows=.*0 <= start < stop <= 53"):
        gap_columns(model, x, rows=(0, 60), batch_size=10)
    with pytest.raises(ValueError, match="ais=True cannot be sharded"):
        gap_columns(model, x, rows=(10, 20), batch_size=10, ais=True)
    with pytest.raises(ValueError, match="AIS cannot be sharded"):
        sharded_inference_gaps(model, x, 2, ais=True)
    with pytest.raises(ValueError, match="shards must be an integer >= 1"):
        shard_bounds(10, 5, 0)
    with pytest.raises(ValueError, match=r"\(start, stop\)=\(3, 10\)"):
        iw_log_px_rows(model, x, 10, 3, 10, batch_size=5)
