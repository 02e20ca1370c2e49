"""`vaelab table remedies` and the statistics every table shares (vaelab.zoo.table_stats): mean ± SE across seeds,
paired per-seed differences to the language model, the rows' configs, and one small end-to-end table."""
import json
import math
import statistics

import pytest

from vaelab.train import cache_path
from vaelab.zoo import catalog, table_stats
from vaelab.zoo.table_remedies import LM, TEXT_REMEDIES, remedies_table, remedy_configs
from vaelab.zoo.table_stats import seed_mean_se, summarise
from vaelab.zoo.tables import build_table, to_markdown


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 4.0], [10.5, 11.4, 12.6], [-3, 5], [0.25, 0.25, 0.25]])
def test_seed_mean_se_is_the_mean_and_the_standard_error(values):
    mean, se = seed_mean_se(values)
    assert mean == pytest.approx(statistics.mean(values), rel=1e-12, abs=1e-12)
    assert se == pytest.approx(statistics.stdev(values) / math.sqrt(len(values)), rel=1e-12, abs=1e-12)


def test_seed_mean_se_of_one_seed_has_no_standard_error():
    mean, se = seed_mean_se([7.5])
    assert mean == 7.5 and se is None


def test_summarise_pairs_each_row_with_the_lm_of_the_same_seed():
    # the rows move together across seeds (a shared offset per seed): unpaired, their SEs would be ~0.6 nats
    per_seed = {
        "none": {"iw_nll": [10.5, 11.4, 12.6], "kl": [0.01, 0.02, 0.03], "kl_per_dim": [[0.0], [0.1], [0.2]]},
        LM: {"iw_nll": [10.0, 11.0, 12.0], "kl": [0.0, 0.0, 0.0]},
    }
    s = summarise(per_seed, baseline=LM)
    mean, se = s["none"]["nll_minus_lm"]
    assert mean == pytest.approx(0.5, abs=1e-12)                               # diffs 0.5, 0.4, 0.6
    assert se == pytest.approx(statistics.stdev([0.5, 0.4, 0.6]) / math.sqrt(3), rel=1e-9)   # 0.0577...
    unpaired = math.hypot(s["none"]["iw_nll"][1], s[LM]["iw_nll"][1])
    assert unpaired > 5 * se, "the example should tell a paired SE from an unpaired one"
    assert s[LM]["iw_nll"] == pytest.approx((11.0, statistics.stdev([10.0, 11.0, 12.0]) / math.sqrt(3)))
    assert "nll_minus_lm" not in s[LM]
    assert s["none"]["kl"][0] == pytest.approx(0.02)
    assert "kl_per_dim" not in s["none"]                                       # lists per seed are not summarised


def test_summarise_without_a_baseline_row_has_no_difference():
    per_seed = {"none": {"iw_nll": [1.0, 2.0]}, LM: {"iw_nll": [0.0, 0.0]}}
    assert summarise(per_seed) == {"none": {"iw_nll": (1.5, 0.5)}, LM: {"iw_nll": (0.0, 0.0)}}
    assert summarise({"none": {"iw_nll": [1.0, 2.0]}}, baseline=LM) == {"none": {"iw_nll": (1.5, 0.5)}}


def test_quick_configs_are_the_zoos_notebook_02_configs():
    cfgs = remedy_configs("quick", seed=1)
    assert set(cfgs) == {LM, *TEXT_REMEDIES} and set(TEXT_REMEDIES) >= {"none", "freebits", "word_dropout"}
    assert all(c.seed == 1 for c in cfgs.values())
    assert cfgs[LM].objective == "lm" and cfgs["freebits"].objective == "freebits"
    assert cfgs["none"] == catalog.nb02_text(True).variant(seed=1)
    # the language model is the same decoder trained alike: only the objective differs from the plain VAE
    lm, none = cfgs[LM].to_dict(), cfgs["none"].to_dict()
    assert {k for k in lm if lm[k] != none[k]} == {"objective"}
    # at seed 0 every row but the LM is a zoo entry: the same cache key, so the table reuses those checkpoints
    zero = remedy_configs("quick", seed=0)
    for remedy in TEXT_REMEDIES:
        zoo = catalog.config(f"remedy-text/{remedy}", quick=True)
        assert zero[remedy] == zoo and cache_path(zero[remedy]) == cache_path(zoo), remedy


def test_lecture_profile_uses_short_yelp():
    cfgs = remedy_configs("lecture", 0)
    assert {c.dataset for c in cfgs.values()} == {"short_yelp"} and cfgs[LM].objective == "lm"


@pytest.mark.parametrize("call, name", [
    (lambda: remedy_configs("nope"), "profile"),
    (lambda: remedies_table("quick", seeds=0), "seeds"),
    (lambda: build_table("nope"), "table"),
    (lambda: to_markdown({"table": "nope"}), "table"),
])
def test_bad_table_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.filterwarnings("ignore:posterior collapse")          # the plain ELBO's rows collapse, as they should
def test_quick_remedies_table_end_to_end():
    """Six small models (LM, plain ELBO, free bits; two seeds) at the quick profile's real sizes."""
    record = remedies_table("quick", seeds=2, remedies=("none", "freebits"), device="cpu")
    rows = (LM, "none", "freebits")
    assert tuple(record["per_seed"]) == rows and tuple(record["summary"]) == rows
    assert record["seeds"] == 2 and record["dataset"] == "synthetic_text" and record["configs"][LM]["objective"] == "lm"
    for row in rows:
        for metric, values in record["per_seed"][row].items():
            assert len(values) == 2, (row, metric)
        for metric in ("iw_nll", "kl", "mi", "active_units", "ppl"):
            mean, se = record["summary"][row][metric]
            assert math.isfinite(mean) and se >= 0, (row, metric)
    lm, s = record["per_seed"][LM], record["summary"]
    assert lm["kl"] == [0.0, 0.0] and lm["active_units"] == [0, 0] and "nll_minus_lm" not in s[LM]
    # the difference to the LM is paired by seed
    diffs = [a - b for a, b in zip(record["per_seed"]["freebits"]["iw_nll"], lm["iw_nll"])]
    assert s["freebits"]["nll_minus_lm"] == pytest.approx(seed_mean_se(diffs))
    # every row's PPL is exp(NLL per token) over the same tokens (words + EOS), the LM's included
    x = table_stats.fixed_test_subset("synthetic_text", record["n_test"]).x
    per_sentence = float((x != 0).sum()) / x.shape[0]
    for row in rows:
        for nll, ppl in zip(record["per_seed"][row]["iw_nll"], record["per_seed"][row]["ppl"]):
            assert math.log(ppl) * per_sentence == pytest.approx(nll, rel=1e-4), row
    # free bits hold the KL up; the plain ELBO collapses: a real difference, beyond 3 SE across seeds
    (kf, sf), (kn, sn) = s["freebits"]["kl"], s["none"]["kl"]
    assert kf - kn > 3 * math.hypot(sf, sn), (s["freebits"]["kl"], s["none"]["kl"])
    # the seed-0 plain VAE is stored under notebook 02's zoo key
    assert cache_path(catalog.nb02_text(True)).exists()
    json.dumps(record, allow_nan=False)                                        # JSON-ready with 2 seeds

    md = to_markdown(record)
    lines = md.splitlines()
    header = [ln for ln in lines if ln.startswith("| row |")]          # ours, then the paper's rows
    assert len(header) == 2 and "NLL − LM (paired)" in header[0] and "NLL − LM" not in header[1]
    table = lines[lines.index(header[0]) + 2:]
    table = table[:next((i for i, ln in enumerate(table) if not ln.startswith("|")), len(table))]
    assert [ln.split("|")[1].strip() for ln in table] == list(rows)
    kl_col = header[0].split("|").index(" KL ")
    assert table[2].split("|")[kl_col].strip() == f"{kf:.2f} ± {sf:.2f}"


def test_rows_choose_a_subset_in_the_tables_order_and_bad_rows_are_named(monkeypatch, capsys):
    """`vaelab table NAME --rows ...`: the builder gets the rows in the table's own order ('lm' is implied for
    remedies and savae); an unknown row is one line naming it and the accepted rows."""
    from vaelab.cli import main
    from vaelab.zoo import tables

    seen = {}

    def fake(name):
        def build(profile, seeds, **kw):
            seen[name] = kw.get("remedies", kw.get("rows"))
            return {"table": name}
        return build

    for name in tables.TABLES:
        monkeypatch.setitem(tables.TABLES, name, (fake(name), tables.TABLES[name][1]))
    tables.build_table("remedies", rows=["freebits", "lm", "none"])
    tables.build_table("gaps", rows=["encoder=512x512", "main"])
    tables.build_table("savae", rows=["savae", "elbo"])
    assert seen == {"remedies": ("none", "freebits"), "gaps": ("main", "encoder=512x512"), "savae": ("elbo", "savae")}
    assert main(["table", "gaps", "--rows", "main", "huge"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vaelab table:") and "rows='huge'" in err and "encoder=32" in err
    with pytest.raises(ValueError, match="besides 'lm'"):
        tables.build_table("remedies", rows=["lm"])
