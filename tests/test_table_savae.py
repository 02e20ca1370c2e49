"""`vaelab table savae`: Kim et al.'s settings in the configs, and the record on tiny real runs."""
from __future__ import annotations

import pytest

from vaelab.zoo import catalog, table_savae
from vaelab.zoo.tables import to_markdown


def test_quick_rows_are_the_zoo_entries_and_lecture_uses_the_papers_settings():
    for mode in catalog.MODES:
        assert table_savae.savae_config("quick", mode) == catalog.entry(f"savae-text/{mode}").config(quick=True)
    lm = table_savae.savae_config("lecture", "lm", seed=1)
    assert lm.objective == "lm" and lm.seed == 1 and lm.dataset == "short_yelp" and lm.svi_steps == 10   # defaults
    sa = table_savae.savae_config("lecture", "savae", seed=2)
    assert (sa.svi_steps, sa.svi_momentum, sa.svi_clip, sa.kl_warmup, sa.seed) == (10, 0.5, 5.0, 10, 2)
    assert sa.svi_lr == pytest.approx(1 / sa.batch_size)       # lr 1 on the batch mean = 1/B per example
    assert table_savae.savae_config("paper", "savae").svi_steps == 20
    with pytest.raises(ValueError, match="profile"):
        table_savae.savae_config("nope", "savae")


def test_savae_table_record(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path))
    monkeypatch.setitem(table_savae.SIZES, "quick", (None, 60, 5))
    full = table_savae.savae_config
    monkeypatch.setattr(table_savae, "savae_config",
                        lambda p, m, seed=0: full(p, m, seed).variant(epochs=1, train_size=200))
    rec = table_savae.savae_table("quick", seeds=2, rows=("elbo", "savae"))
    assert list(rec["per_seed"]) == ["lm", "elbo", "savae"] and rec["n_test"] == 60
    lm, sa = rec["per_seed"]["lm"], rec["per_seed"]["savae"]
    diffs = [a - b for a, b in zip(sa["iw_nll"], lm["iw_nll"])]
    assert rec["summary"]["savae"]["nll_minus_lm"][0] == pytest.approx(sum(diffs) / 2)
    assert "nll_minus_lm" not in rec["summary"]["lm"]
    for s in range(2):                               # a KL is never negative; refinement is scored before and after
        assert sa["kl"][s] >= 0 and "elbo_K" in rec["summary"]["savae"]
    md = to_markdown(rec)
    assert md.count("\n| ") >= 3 + 1 and "ELBO after K steps" in md
