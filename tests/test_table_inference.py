"""`vaelab table inference`: the VAE, SA-VAE and short-run inference (SRI) rows on the text VAE, beside the LM."""
from __future__ import annotations

import math

import pytest

from vaelab.zoo import table_inference, table_savae
from vaelab.zoo.tables import TABLE_ROWS, build_table, to_json, to_markdown


def test_rows_share_table_savaes_models_and_sri_is_the_same_decoder_without_encoder_training():
    for row in ("lm", "elbo", "savae"):
        assert table_inference.inference_config("lecture", row, 1) == table_savae.savae_config("lecture", row, 1)
    sri = table_inference.inference_config("lecture", "sri", seed=2)
    vae = table_savae.savae_config("lecture", "elbo", seed=2)
    assert sri.objective == "sri" and sri.seed == 2 and sri.kl_warmup == 0          # SRI has no KL to warm up
    assert (sri.dataset, sri.model, sri.latent_dim, sri.hidden, sri.epochs) == (
        vae.dataset, vae.model, vae.latent_dim, vae.hidden, vae.epochs)
    assert (sri.langevin_steps, sri.langevin_step_start, sri.langevin_step_end, sri.langevin_temperature) == (
        20, 0.8, 0.05, 0.2)                                                         # the SRI code's settings
    assert TABLE_ROWS["inference"] == ("elbo", "savae", "sri")
    with pytest.raises(ValueError, match="rows"):
        build_table("inference", rows=["aggressive"])


def test_inference_table_record(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path))
    monkeypatch.setitem(table_savae.SIZES, "quick", (None, 60, 5))
    monkeypatch.setitem(table_inference.CHAINS, "quick", (2, 5))
    full = table_inference.inference_config
    monkeypatch.setattr(table_inference, "inference_config",
                        lambda p, r, seed=0: full(p, r, seed).variant(epochs=1, train_size=200))
    rec = table_inference.inference_table("quick", seeds=2)
    assert list(rec["per_seed"]) == ["lm", "elbo", "savae", "sri"] and rec["n_test"] == 60
    sri, vae, lm = rec["per_seed"]["sri"], rec["per_seed"]["elbo"], rec["per_seed"]["lm"]
    # SRI has no q(z|x): no KL or MI, but a likelihood, active units, a probe on E[z|x] and its chains' acceptance
    assert "kl" not in sri and "mi" not in sri and "kl" in vae and "mi" in vae
    for s in range(2):
        assert math.isfinite(sri["iw_nll"][s]) and 0 < sri["accept_rate"][s] <= 1
        assert 0 <= sri["probe_acc"][s] <= 1 and sri["active_units"][s] >= 0
    diffs = [a - b for a, b in zip(sri["iw_nll"], lm["iw_nll"])]
    assert rec["summary"]["sri"]["nll_minus_lm"][0] == pytest.approx(sum(diffs) / 2)
    md = to_markdown(rec)
    assert "| sri |" in md and md.split("| sri |")[1].split("|")[3].strip() == "—"   # KL column of the sri row
    assert '"table": "inference"' in to_json(rec)
