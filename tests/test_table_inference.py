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


def test_ais_column_settings_are_validated():
    for bad in (-1, 1, 61):
        with pytest.raises(ValueError, match=r"ais_sentences=.*accepted 0 \(no AIS column\) or 2\.\.60"):
            table_inference.ais_settings("quick", 60, bad, None)
    with pytest.raises(TypeError, match="ais_sentences"):
        table_inference.ais_settings("quick", 60, 2.5, None)
    with pytest.raises(ValueError, match="ais_steps must be an integer >= 1, got 0"):
        table_inference.ais_settings("quick", 60, 10, 0)
    with pytest.raises(ValueError, match="ais_steps=50 needs the AIS column"):
        table_inference.ais_settings("quick", 60, 0, 50)
    assert table_inference.ais_settings("quick", 60, 0, None) is None
    got = table_inference.ais_settings("quick", 60, 10, 7)
    assert got["sentences"] == 10 and got["n_steps"] == 7
    assert got["n_chains"] == table_inference.AIS["quick"]["n_chains"]
    with pytest.raises(ValueError, match="ais_sentences"):       # before any model is trained
        table_inference.inference_table("quick", seeds=1, ais_sentences=501)


def test_inference_table_record_with_the_ais_column(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path))
    monkeypatch.setitem(table_savae.SIZES, "quick", (None, 30, 5))
    monkeypatch.setitem(table_inference.CHAINS, "quick", (2, 5))
    monkeypatch.setitem(table_inference.AIS, "quick", dict(n_chains=2, n_steps=3, leapfrog=2))
    full = table_inference.inference_config
    monkeypatch.setattr(table_inference, "inference_config",
                        lambda p, r, seed=0: full(p, r, seed).variant(epochs=1, train_size=200))
    rec = table_inference.inference_table("quick", seeds=2, rows=("elbo", "sri"), ais_sentences=6)
    assert rec["ais"] == {"sentences": 6, "n_chains": 2, "n_steps": 3, "leapfrog": 2}
    for row in ("lm", "elbo", "sri"):
        got = rec["per_seed"][row]
        assert got["ais_sentences"] == [6, 6]
        for s in range(2):
            assert math.isfinite(got["ais_nll"][s]) and math.isfinite(got["ais_iw_nll"][s])
            assert got["iw_minus_ais"][s] == pytest.approx(got["ais_iw_nll"][s] - got["ais_nll"][s], abs=1e-9)
    lm = rec["per_seed"]["lm"]
    # the language model is p(x|0) for every z: its AIS is its exact NLL, which is also its 'IS' column
    assert lm["ais_nll"] == pytest.approx(lm["ais_iw_nll"], abs=1e-4)
    # the exact NLL on the AIS subset: recomputed here from the subset's sentences, not read from the code under test
    from vaelab.metrics.likelihood import decoder_only_nll
    from vaelab.train.cache import load_or_train
    from vaelab.zoo.table_stats import fixed_test_subset
    cfg = table_inference.inference_config("quick", "lm", 1)
    sub = fixed_test_subset(cfg.dataset, 6, vocab_size=cfg.vocab_size)
    model, _ = load_or_train(cfg, device="cpu", progress=False)
    assert lm["ais_iw_nll"][1] == pytest.approx(float(decoder_only_nll(model, sub.x).double().mean()), abs=1e-4)
    assert rec["summary"]["sri"]["iw_minus_ais"][0] == pytest.approx(sum(rec["per_seed"]["sri"]["iw_minus_ais"]) / 2)
    sri_ais = rec["per_seed"]["sri"]["ais_nll"]
    assert rec["summary"]["sri"]["ais_minus_lm"][0] == pytest.approx((sri_ais[0] - lm["ais_nll"][0]
                                                                      + sri_ais[1] - lm["ais_nll"][1]) / 2)
    assert "ais_minus_lm" not in rec["summary"]["lm"]
    md = to_markdown(rec)
    assert "AIS NLL" in md and "IS − AIS (paired)" in md and "6 of the test sentences" in md
    assert '"ais": {' in to_json(rec)
    def no_ais(*args, **kwargs):
        raise AssertionError("the AIS cross-check ran again instead of loading from vaelab.memo")

    monkeypatch.setattr(table_inference, "is_against_ais", no_ais)
    again = table_inference.inference_table("quick", seeds=2, rows=("elbo", "sri"), ais_sentences=6)
    assert again["per_seed"] == rec["per_seed"]


def test_markdown_shows_the_ais_columns_only_when_measured():
    summary = {"lm": {"iw_nll": (17.0, 0.1)}, "sri": {"iw_nll": (19.0, 0.1), "nll_minus_lm": (2.0, 0.1),
                                                       "ais_nll": (18.0, 0.1), "ais_iw_nll": (19.5, 0.1),
                                                       "iw_minus_ais": (1.5, 0.05)}}
    rec = {"table": "inference", "profile": "quick", "dataset": "synthetic_text", "seeds": 3, "n_test": 500,
           "iw_samples": 50, "svi": {"steps": 5}, "chains": [4, 60], "summary": summary, "ais": None}
    assert "AIS" not in to_markdown(rec)
    rec["ais"] = {"sentences": 100, "n_chains": 8, "n_steps": 100, "leapfrog": 5}
    md = to_markdown(rec)
    summary["sri"]["ais_minus_lm"] = (1.0, 0.2)
    md = to_markdown(rec)
    sri = [c.strip() for c in md.split("| sri |")[1].split("\n")[0].split("|")]
    assert sri[-6:-2] == ["19.50 ± 0.10", "18.00 ± 0.10", "1.500 ± 0.050", "1.00 ± 0.20"]


def test_the_cli_refuses_a_bad_ais_column_in_one_line(capsys, monkeypatch):
    from vaelab.cli import main

    for argv, words in ((["table", "gaps", "--ais-sentences", "5"], ("table 'inference' only", "'gaps'")),
                        (["table", "inference", "--ais-sentences", "1"], ("ais_sentences=1", "2..500")),
                        (["table", "inference", "--ais-steps", "50"], ("ais_steps=50", "ais_sentences")),
                        (["table", "inference", "--ais-sentences", "5", "--ais-steps", "0"], ("ais_steps", ">= 1"))):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("vaelab table:") and all(w in err[0] for w in words), err
    seen = {}
    monkeypatch.setattr("vaelab.zoo.tables.TABLES", {"inference": (lambda *a, **kw: seen.update(kw) or {"table": "inference"},
                                                                   lambda record: "md")})
    assert main(["table", "inference", "--ais-sentences", "7", "--ais-steps", "9", "--seeds", "1"]) == 0
    assert seen["ais_sentences"] == 7 and seen["ais_steps"] == 9
