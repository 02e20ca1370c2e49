"""`vaelab table infovae`: the rows, configs and record of the strong-decoder InfoVAE table (small sizes, real code
paths), and the lecture ship's n_test / iw_samples overrides of the other tables."""
from __future__ import annotations

import json
import math

import pytest

from vaelab.cli import main
from vaelab.zoo import catalog, table_infovae
from vaelab.zoo.tables import to_json, to_markdown


def test_infovae_configs_are_notebook_04s_models_with_the_seed():
    for row in table_infovae.ROWS:
        zoo_cfg = catalog.entry(f"infovae-bdigits/{row}").config(quick=True)
        assert table_infovae.infovae_config("quick", row, seed=zoo_cfg.seed) == zoo_cfg
        assert table_infovae.infovae_config("quick", row, seed=4).seed == 4
    mmd, elbo = (table_infovae.infovae_config("quick", r) for r in ("mmd-pixelcnn", "elbo-pixelcnn"))
    assert (mmd.objective, elbo.objective) == ("infovae", "elbo") and mmd.layers == elbo.layers == 6   # same decoder
    with pytest.raises(ValueError, match="profile='lecture': the infovae table has only the 'quick' profile"):
        table_infovae.infovae_config("lecture", "elbo-mlp")
    with pytest.raises(ValueError, match="profile"):
        table_infovae.infovae_config("huge", "elbo-mlp")


def test_infovae_table_record_pairs_mi_with_the_elbo_row(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path))
    monkeypatch.setitem(table_infovae.IW_SAMPLES, "quick", 5)
    short = table_infovae.infovae_config
    monkeypatch.setattr(table_infovae, "infovae_config", lambda p, r, seed=0: short(p, r, seed).variant(epochs=1))
    rec = table_infovae.infovae_table("quick", seeds=2, rows=("elbo-pixelcnn", "mmd-pixelcnn"))
    per, summ = rec["per_seed"], rec["summary"]
    assert rec["iw_samples"] == 5 and len(per["mmd-pixelcnn"]["mi"]) == 2
    diffs = [a - b for a, b in zip(per["mmd-pixelcnn"]["mi"], per["elbo-pixelcnn"]["mi"])]
    mean, se = summ["mmd-pixelcnn"]["mi_minus_elbo"]
    assert mean == pytest.approx(sum(diffs) / 2) and se == pytest.approx(abs(diffs[0] - diffs[1]) / 2)
    assert "mi_minus_elbo" not in summ["elbo-pixelcnn"]
    for row in per:
        for s in range(2):       # the ceiling is log N of the test split, and MI sits below it
            assert per[row]["mi_below_ceiling"][s] == pytest.approx(per[row]["mi_ceiling"][s] - per[row]["mi"][s])
            assert 0 < per[row]["mi_ceiling"][s] <= math.log(rec["n_test"]) + 1e-9      # log of the aggregate sample
    md = to_markdown(rec)
    assert "| mmd-pixelcnn |" in md and "MI ceiling − MI" in md
    json.loads(to_json(rec))


def test_table_infovae_cli_refuses_the_lecture_profile(capsys):
    assert main(["table", "infovae", "--profile", "lecture", "--seeds", "1"]) == 2
    assert "only the 'quick' profile" in capsys.readouterr().err
