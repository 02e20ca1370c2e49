"""`vaelab table gaps`: the rows, configs and record of the gap table (small sizes, real code paths)."""
from __future__ import annotations

import math

import pytest

from vaelab.zoo import catalog
from vaelab.zoo import table_gaps
from vaelab.zoo.tables import build_table, to_markdown


def test_gap_configs_are_the_zoo_entries_with_the_seed():
    for row in table_gaps.ROWS:
        assert table_gaps.gap_config("quick", row, seed=0) == catalog.entry(f"gap-bdigits/{row}").config(quick=True)
        assert table_gaps.gap_config("lecture", row, seed=0) == catalog.entry(f"gap-bmnist/{row}").config(quick=False)
        assert table_gaps.gap_config("lecture", row, seed=2).seed == 2
    paper, lecture = table_gaps.gap_config("paper", "main"), table_gaps.gap_config("lecture", "main")
    assert paper.epochs == 10 * lecture.epochs and paper.dataset == "binarized_mnist"
    # the encoder is what the rows vary: the decoder stays the same
    widths = [table_gaps.gap_config("quick", r).encoder_hidden for r in table_gaps.ROWS]
    assert widths[0] == [32] and widths[2] == [512, 512] and widths[1] is None


def test_bad_profile_and_seeds_are_refused():
    with pytest.raises(ValueError, match="profile"):
        table_gaps.gap_config("huge", "main")
    with pytest.raises(ValueError, match="seeds"):
        table_gaps.gaps_table("quick", seeds=0)
    with pytest.raises(ValueError, match="table"):
        build_table("nope")


def test_gaps_table_record_and_markdown(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path))
    monkeypatch.setitem(table_gaps.SIZES, "quick", (40, 50, 60))      # 40 images, K = 50, 60 steps: seconds
    short = table_gaps.gap_config
    monkeypatch.setattr(table_gaps, "gap_config", lambda p, r, seed=0: short(p, r, seed).variant(epochs=3))
    rec = table_gaps.gaps_table("quick", seeds=2, rows=("main",))
    assert rec["n_test"] == 40 and rec["seeds"] == 2 and rec["steps"] == 60
    per = rec["per_seed"]["main"]
    assert len(per["log_px"]) == 2
    for k in ("approximation_gap", "amortization_gap"):
        mean, se = rec["summary"]["main"][k]
        assert mean == pytest.approx(sum(per[k]) / 2)
        assert se == pytest.approx(abs(per[k][0] - per[k][1]) / 2)      # n = 2: |a - b| / 2
    # the decomposition adds up, seed by seed: log p(x) - ELBO[q] = approximation + amortization
    for s in range(2):
        total = per["log_px"][s] - per["elbo_q"][s]
        assert total == pytest.approx(per["approximation_gap"][s] + per["amortization_gap"][s], abs=1e-6)
    md = to_markdown(rec)
    assert "| main |" in md and "amortization gap" in md and "Cremer" in md
    assert not any(math.isnan(v) for v in per["log_px"])
