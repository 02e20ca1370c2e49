"""The lecture profile's shipped checkpoints (vaelab.zoo.lecture): fp16 files pinned by sha256, installed into the
cache as fp32 models that load_or_train serves without training; the shipped set is exactly what the tables ask
for, within its size budget."""
import shutil

import pytest
import torch

from vaelab.data.download import sha256_file
from vaelab.train import cache, load_checkpoint
from vaelab.train.cache import cache_path, load_or_train
from vaelab.train.experiment import TrainConfig
from vaelab.zoo import ZooWarning, lecture
from vaelab.zoo.tables import LECTURE_ROWS, lecture_configs

TINY = TrainConfig(dataset="digits", binarize="static", latent_dim=2, hidden=[16], epochs=1, train_size=64,
                   batch_size=32)


def no_training(monkeypatch):
    def fail(cfg, *a, **k):
        raise AssertionError(f"trained {cfg}")
    monkeypatch.setattr(cache, "train", fail)


@pytest.fixture
def shipped(tmp_path):
    """Two tiny configs trained into one cache and shipped into a folder of their own."""
    cfgs = [TINY, TINY.variant(seed=1)]
    for cfg in cfgs:
        load_or_train(cfg, device="cpu", root=tmp_path / "built")
    folder = tmp_path / "lecture"
    total = lecture.ship(cfgs, root=tmp_path / "built", folder=folder)
    return cfgs, folder, total


def test_ship_stores_fp16_and_install_restores_the_rounded_model(shipped, tmp_path, monkeypatch):
    cfgs, folder, total = shipped
    man = lecture._manifest(folder)["entries"]
    assert sorted(man) == sorted(c.key() for c in cfgs)
    assert total == sum(r["bytes"] for r in man.values())
    for cfg in cfgs:
        rec = lecture.record(cfg, folder)
        assert sha256_file(folder / rec["file"]) == rec["sha256"]
        _, payload = load_checkpoint(folder / rec["file"])
        floats = [v for v in payload["state_dict"].values() if v.is_floating_point()]
        assert floats and all(v.dtype == torch.float16 for v in floats)
    no_training(monkeypatch)
    fresh = tmp_path / "fresh"
    assert lecture.install(cfgs[0], root=fresh, folder=folder) is True
    assert lecture.install(cfgs[0], root=fresh, folder=folder) is False          # already in the cache
    model, history = load_or_train(cfgs[0], device="cpu", root=fresh)           # served, not trained
    original, _ = load_checkpoint(cache_path(cfgs[0], tmp_path / "built"))
    for name, p in model.state_dict().items():
        want = original.state_dict()[name]
        assert p.dtype == want.dtype
        if p.is_floating_point():
            assert torch.equal(p, want.half().float()), name                  # exactly the fp16-rounded weights
    assert len(history) == cfgs[0].epochs
    assert lecture.install(TINY.variant(epochs=2), root=fresh, folder=folder) is False   # not shipped


def test_a_corrupt_shipped_file_warns_and_is_not_installed(shipped, tmp_path):
    cfgs, folder, _ = shipped
    rec = lecture.record(cfgs[1], folder)
    data = bytearray((folder / rec["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / rec["file"]).write_bytes(bytes(data))
    with pytest.warns(ZooWarning, match="CORRUPT.*make lecture-models"):
        assert lecture.install(cfgs[1], root=tmp_path / "fresh", folder=folder) is False
    assert not cache_path(cfgs[1], tmp_path / "fresh").exists()


def test_ship_refuses_what_is_not_cached_or_over_budget(shipped, tmp_path):
    cfgs, folder, total = shipped
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ValueError, match=r"over the 0\.001 MB budget"):
        lecture.ship(cfgs, root=tmp_path / "built", folder=folder, limit_bytes=1000)
    with pytest.raises(ValueError, match="is not in the cache"):
        lecture.ship([TINY.variant(seed=5)], root=tmp_path / "built", folder=folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before      # nothing written


def test_shipping_again_replaces_the_set(shipped, tmp_path):
    cfgs, folder, _ = shipped
    lecture.ship(cfgs[:1], root=tmp_path / "built", folder=folder)
    assert [c.key() for c in lecture.shipped_configs(folder)] == [cfgs[0].key()]
    assert len(list(folder.glob("*.pt"))) == 1                                  # the dropped file is gone


def test_the_shipped_lecture_set_is_what_the_tables_ask_for():
    """The files in vaelab/zoo/lecture are exactly lecture_configs(), intact and within the budget; a change of a
    lecture config without `make lecture-models` fails here."""
    want = {c.key(): c for c in lecture_configs()}
    assert len(want) == 3 * (len(LECTURE_ROWS["remedies"]) + len(LECTURE_ROWS["gaps"]))
    have = {c.key(): c for c in lecture.shipped_configs()}
    assert sorted(have) == sorted(want), "the shipped lecture set is stale: rebuild it with `make lecture-models`"
    total = 0
    for key, cfg in want.items():
        rec = lecture.record(cfg)
        assert sha256_file(lecture.LECTURE_DIR / rec["file"]) == rec["sha256"], rec["file"]
        total += (lecture.LECTURE_DIR / rec["file"]).stat().st_size
    assert total <= lecture.LIMIT_BYTES


def test_tables_install_shipped_lecture_checkpoints(tmp_path, monkeypatch):
    """collect() installs a shipped checkpoint before load_or_train: a lecture config loads without training."""
    from vaelab.zoo import table_stats

    cfg = lecture_configs(1)[0]
    no_training(monkeypatch)
    per_seed, configs = table_stats.collect(1, ["lm"], lambda row, seed: cfg,
                                            lambda row, model, history, seed: {"epochs": len(history)},
                                            device="cpu")
    assert per_seed == {"lm": {"epochs": [cfg.epochs]}} and configs["lm"] == cfg.to_dict()
    assert cache_path(cfg).exists()


def test_a_damaged_lecture_copy_in_the_repository_would_be_caught(tmp_path, monkeypatch):
    """The same check on a copy of the real folder with one flipped byte (the shipped files themselves untouched)."""
    copy = tmp_path / "lecture"
    shutil.copytree(lecture.LECTURE_DIR, copy)
    cfg = lecture_configs(1)[1]
    rec = lecture.record(cfg, copy)
    data = bytearray((copy / rec["file"]).read_bytes())
    data[-100] ^= 0x01
    (copy / rec["file"]).write_bytes(bytes(data))
    with pytest.warns(ZooWarning, match="CORRUPT"):
        assert lecture.install(cfg, root=tmp_path / "cache", folder=copy) is False
