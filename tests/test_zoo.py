"""The model zoo: names and errors, shipped checkpoints against their configs, sha256 corruption, the CLI, and
that the zoo covers exactly the models notebooks 01-05 train."""
import inspect
import json
import shutil
from dataclasses import replace

import pytest

from vaelab import zoo
from vaelab.cli import main
from vaelab.data.download import sha256_file
from vaelab.metrics import active_units, encode_all
from vaelab.metrics.evaluate import eval_inputs
from vaelab.train import cache, experiment, load_checkpoint
from vaelab.train.cache import cache_path
from vaelab.zoo import store

SHIPPED = store.SHIPPED_DIR
# Training on CPU is deterministic per config: on this machine retraining gave bit-identical metrics with 1 and
# 2 threads. Another CPU or BLAS may sum in another order, and a few hundred Adam steps can grow that into
# ~1e-3 nats; 0.05 nats leaves room for it while staying far below what a change of config or training code
# moves these numbers (β 4 -> 2 on the shipped β-VAE: 0.7 nats of ELBO; the 2-D and 8-D VAEs: 0.5).
RETRAIN_TOL = 0.05
# The shipped weights, scored here, against the manifest's numbers scored where they were built: the same seeded
# noise, so only float32 rounding differs (nudging every weight of each shipped model by one ulp moved its ELBO by
# < 4e-6 nats). 1e-3 leaves a 250x margin and still catches a change to what evaluate() draws (another seed moves
# the ELBO of these models by 0.004 to 0.1 nats).
RESCORE_TOL = 1e-3
AU_THRESHOLD = inspect.signature(active_units).parameters["threshold"].default   # active: Var_x E_q[z_u] > it


def shipped_manifest():
    return store.read_manifest(SHIPPED / "manifest.json")["entries"]


def no_training(monkeypatch):
    def fail(cfg, *a, **k):
        raise AssertionError(f"trained {cfg}")
    monkeypatch.setattr(cache, "train", fail)


# -- names and errors -------------------------------------------------------------------------------------------
def test_unknown_names_and_kinds_are_clear_errors():
    for call in (zoo.entry, zoo.config, zoo.load, zoo.test_data):
        with pytest.raises(ValueError, match=r"name must be a zoo entry, got 'vae-nope'.*vae-digits-2d"):
            call("vae-nope")
    with pytest.raises(ValueError, match=r"kind must be None or one of \['image', 'text'\], got 'audio'"):
        zoo.names("audio")
    with pytest.raises(ValueError, match="notebook must be one of"):
        zoo.members(notebook="99_nope")


def test_binarized_mnist_entries_are_full_mode_only():
    assert "vae-bmnist-2d" in zoo.names(quick=False) and "vae-bmnist-2d" not in zoo.names(quick=True)
    with pytest.raises(ValueError, match="no quick-mode config"):
        zoo.config("vae-bmnist-2d", quick=True)
    assert zoo.config("vae-bmnist-2d", quick=False).dataset == "binarized_mnist"


def test_explorer_entries_and_kinds():
    need = {"vae-digits-2d": 2, "vae-digits-16d": 16, "beta-vae-digits/beta=4": 8, "infovae-digits/lam=10": 2,
            "remedy-text/none": 8, "remedy-text/freebits": 8, "savae-text/savae": 8}
    for quick in (True, False):
        names = zoo.names(quick=quick)
        assert names == sorted(names)
        for n, d in need.items():
            assert n in names and zoo.config(n, quick).latent_dim == d
        for n in zoo.members(quick=quick):
            text = zoo.config(n, quick).dataset == "synthetic_text"
            assert zoo.entry(n).kind == ("text" if text else "image")
        assert set(zoo.names("text", quick)) == {n for n in names if zoo.entry(n).kind == "text"}
    assert zoo.config("remedy-text/freebits").objective == "freebits"
    assert zoo.config("infovae-digits/lam=10").objective == "infovae"


def test_every_member_is_a_distinct_model_and_configs_are_fresh():
    for quick in (True, False):
        keys = [zoo.config(n, quick).key() for n in zoo.members(quick=quick)]
        assert len(set(keys)) == len(keys)
    cfg = zoo.config("vae-digits-2d")
    cfg.hidden.append(1)                                 # editing a returned config must not edit the zoo
    assert zoo.config("vae-digits-2d").hidden == [128, 128]


# -- shipped checkpoints ----------------------------------------------------------------------------------------
def test_shipped_set_is_small_intact_and_quick():
    man = shipped_manifest()
    assert man, "no shipped checkpoints: run `python -m vaelab zoo build --quick --ship`"
    total = 0
    for key, rec in man.items():
        assert key == f"quick:{rec['name']}" and rec["mode"] == "quick"
        assert experiment.TrainConfig.from_record(rec["config"]) == zoo.config(rec["name"], quick=True), rec["name"]
        assert sha256_file(SHIPPED / rec["file"]) == rec["sha256"]
        total += (SHIPPED / rec["file"]).stat().st_size
    assert total < store.SHIP_LIMIT_BYTES
    assert sorted(r["name"] for r in man.values()) == zoo.shipped_names()


@pytest.mark.parametrize("name", ["vae-digits-2d", "beta-vae-digits/beta=4"])
def test_shipped_checkpoint_matches_what_its_config_trains(name):
    rec = shipped_manifest()[f"quick:{name}"]
    model, _ = experiment.train(zoo.config(name, quick=True), device="cpu")   # from scratch, not from a file
    got = zoo.score(model, name, quick=True)
    for k in ("elbo", "iw_nll", "kl", "rec"):
        assert got[k] == pytest.approx(rec["metrics"][k], abs=RETRAIN_TOL), k
    assert got["active_units"] == rec["metrics"]["active_units"]
    # An exact count is safe only if no unit sits near the threshold, where another CPU's rounding could flip it:
    # every unit's variance is more than a factor 2 away from it (measured: >= 0.9 on the 2-D VAE, <= 0.0012 on
    # the beta=4 one).
    mu, _ = encode_all(model, eval_inputs(zoo.test_data(name, 500, quick=True)))
    _, var = active_units(mu, AU_THRESHOLD)
    assert bool(((var > 2 * AU_THRESHOLD) | (var < AU_THRESHOLD / 2)).all()), var.tolist()
    # and the shipped weights themselves score what the manifest says (evaluate is seeded)
    loaded, payload = load_checkpoint(SHIPPED / rec["file"])
    assert payload["train_config"] == rec["config"]
    assert zoo.score(loaded, name, quick=True)["elbo"] == pytest.approx(rec["metrics"]["elbo"], abs=RESCORE_TOL)


def test_load_uses_a_shipped_checkpoint_without_training(monkeypatch):
    no_training(monkeypatch)
    model, history = zoo.load("vae-digits-2d", quick=True)
    cfg = zoo.config("vae-digits-2d", quick=True)
    assert sha256_file(cache_path(cfg)) == shipped_manifest()["quick:vae-digits-2d"]["sha256"]
    assert len(history) == cfg.epochs and model.config["latent_dim"] == 2
    # a changed knob is simply not shipped: it trains (here: fails loudly because training is disabled)
    assert zoo.shipped_record("vae-digits-2d", replace(cfg, epochs=cfg.epochs + 1)) is None


def test_corrupted_shipped_checkpoint_warns_loudly_and_retrains(tmp_path, monkeypatch):
    copy = tmp_path / "shipped"
    shutil.copytree(SHIPPED, copy)
    monkeypatch.setattr(store, "SHIPPED_DIR", copy)
    rec = store.read_manifest(copy / "manifest.json")["entries"]["quick:vae-digits-2d"]
    data = bytearray((copy / rec["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / rec["file"]).write_bytes(bytes(data))
    with pytest.warns(zoo.ZooWarning, match="CORRUPT"):
        model, _ = zoo.load("vae-digits-2d", quick=True)
    cached = cache_path(zoo.config("vae-digits-2d", quick=True))
    assert sha256_file(cached) != sha256_file(copy / rec["file"])            # retrained, not the corrupt file
    assert zoo.score(model, "vae-digits-2d", quick=True)["elbo"] == pytest.approx(rec["metrics"]["elbo"],
                                                                                 abs=RETRAIN_TOL)


def test_ship_then_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "SHIPPED_DIR", tmp_path / "shipped")
    (tmp_path / "shipped").mkdir()
    recs = zoo.build(["remedy-mlp/beta"], quick=True, ship=True)
    man = store.read_manifest(tmp_path / "shipped" / "manifest.json")["entries"]
    assert list(man) == ["quick:remedy-mlp/beta"] and man["quick:remedy-mlp/beta"]["sha256"] == recs[0]["sha256"]
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "other-cache"))
    no_training(monkeypatch)
    assert zoo.prefetch(notebook="02_posterior_collapse", quick=True) == ["remedy-mlp/beta"]
    zoo.load("remedy-mlp/beta", quick=True)
    with pytest.raises(ValueError, match="needs quick mode"):
        zoo.build(["vae-digits-2d"], quick=False, ship=True)
    with pytest.raises(ValueError, match="offline datasets"):
        store._ship([{"name": "vae-bmnist-2d", "mode": "full", "config": {"dataset": "binarized_mnist"}}], False)


# -- CLI --------------------------------------------------------------------------------------------------------
def test_cli_build_and_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(store, "SHIPPED_DIR", tmp_path / "none")           # nothing shipped: really trains
    assert main(["zoo", "build", "remedy-mlp/none", "--quick", "--no-progress", "--device", "cpu"]) == 0
    man = json.loads(zoo.manifest_path().read_text())["entries"]
    rec = man["quick:remedy-mlp/none"]
    cfg = zoo.config("remedy-mlp/none", quick=True)
    assert rec["config"] == cfg.to_dict() and rec["key"] == cfg.key() and rec["from_shipped"] is False
    assert rec["sha256"] == sha256_file(cache_path(cfg)) and rec["vaelab_version"]
    m = rec["metrics"]
    assert m["iw_nll"] <= -m["elbo"] + 1e-6 and m["kl"] >= 0 and m["n"] == 300   # IWAE bound >= ELBO
    assert main(["zoo", "list", "--quick"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("remedy-mlp/none "))
    assert row.split()[1:5] == ["image", "02", "yes", "no"]
    assert next(line for line in out.splitlines() if line.startswith("remedy-mlp/beta ")).split()[3] == "no"
    assert main(["zoo", "build", "nope", "--quick"]) == 2


# -- the zoo covers exactly what the notebooks train ------------------------------------------------------------
def notebook_parameters(stem):
    """Run a notebook's own code cells up to and including its `parameters` cell (quick mode); its namespace."""
    import nbformat
    from pathlib import Path

    nb = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks" / f"{stem}.ipynb", as_version=4)
    ns = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec("\n".join(l for l in cell.source.splitlines() if not l.startswith(("%", "!"))), ns)
            if "parameters" in cell.metadata.get("tags", []):
                return ns
    raise AssertionError(f"{stem} has no parameters cell")


def notebook_trainings(stem, P):
    """Call the library's training helpers the way notebook `stem` does (its cells, with its parameters)."""
    from vaelab.train import beta_sweep, compare_objectives, infovae_sweep, load_or_train, train_remedies

    if stem.startswith("01"):
        load_or_train(P["BASE"])
        beta_sweep(P["BETAS"], P["BASE"])
        load_or_train(P["MODEL_2D"])
    elif stem.startswith("02"):
        train_remedies(P["TEXT_BASE"], P["REMEDIES"], lstm={})
        train_remedies(P["IMG_BASE"], [r for r in P["REMEDIES"] if r != "word_dropout"], pixelcnn={},
                       mlp={"model": "mlp"})
    elif stem.startswith("03"):
        load_or_train(P["BASE"])
        main_cfg, H = P["MAIN"], P["HIDDEN"]
        for cfg in (main_cfg, replace(main_cfg, encoder_hidden=P["SMALL"]), replace(main_cfg, encoder_hidden=P["LARGE"]),
                    replace(main_cfg, hidden=P["LARGE_DECODER"], encoder_hidden=H), replace(main_cfg, epochs=P["SHORT"])):
            load_or_train(cfg)
    elif stem.startswith("04"):
        base, lam = P["BASE"], P["GAMMA"]
        compare_objectives({"ae": base.variant(objective="infovae", alpha=1.0, lam=0.0),
                            "elbo": base.variant(objective="elbo"),
                            "mmd": base.variant(objective="infovae", alpha=1.0, lam=lam)})
        strong = base.variant(latent_dim=P["STRONG_LATENT"], binarize="static", epochs=P["STRONG_EPOCHS"])
        L, mmd = P["STRONG_LAYERS"], {"objective": "infovae", "alpha": 1.0, "lam": lam}
        compare_objectives({"a": strong.variant(model="mlp"), "b": strong.variant(model="pixelcnn", layers=L),
                            "c": strong.variant(model="pixelcnn", layers=L, **mmd),
                            "d": strong.variant(model="pixelcnn", layers=2, conditioning="global"),
                            "e": strong.variant(model="pixelcnn", layers=2, conditioning="global", **mmd)})
        infovae_sweep(P["GAMMAS"], base, alpha=1.0)
    elif stem.startswith("05"):
        load_or_train(P["MODEL_2D"])
        text_base = experiment.TrainConfig(
            dataset="synthetic_text", model="lstm", objective="savae", latent_dim=P["TEXT_LATENT"], hidden=P["TEXT_HIDDEN"],
            epochs=P["TEXT_EPOCHS"], batch_size=50, train_size=P["TEXT_TRAIN"], kl_warmup=P["KL_WARMUP"],
            seed=P["SEED"], svi_steps=P["SVI_STEPS"], svi_lr=P["SVI_LR"], svi_momentum=P["SVI_MOMENTUM"],
            svi_clip=P["SVI_CLIP"], hvp=P["HVP"])
        for mode in ("elbo", "svi", "vae+svi", "vae+svi+kl", "savae"):
            load_or_train(text_base.variant(objective=mode))
        for mode in ("elbo", "svi", "vae+svi", "vae+svi+kl", "savae"):
            load_or_train(P["IMG_BASE"].variant(objective=mode))
    elif stem.startswith("07"):
        load_or_train(P["MODEL_2D"])
        for names in P["IMG_MODELS"].values():
            for name in names:
                load_or_train(zoo.config(name))
        for name in P["PINWHEEL"].values():
            load_or_train(zoo.config(name))


NOTEBOOK_STEMS = ["01_elbo_and_latent_space", "02_posterior_collapse", "03_amortization_gap", "04_mmd_infovae",
                  "05_semi_amortized_vae", "07_langevin_inference"]


@pytest.mark.parametrize("stem", NOTEBOOK_STEMS)
def test_zoo_members_are_exactly_what_each_notebook_trains(stem, monkeypatch):
    """Every config the notebook's training calls reach load_or_train with is a zoo member tagged with that
    notebook, and every such member is reached: `zoo build --quick` warms exactly the notebook's cache keys."""
    real_train, trained = experiment.train, []

    def stand_in(cfg, *a, **k):                          # record, then return a cheap model of the same shape
        trained.append(cfg.key())
        return real_train(replace(cfg, epochs=1, train_size=min(cfg.train_size or 64, 64)), device="cpu")

    monkeypatch.setattr(cache, "train", stand_in)
    monkeypatch.setenv("VAELAB_QUICK", "1")
    notebook_trainings(stem, notebook_parameters(stem))
    expected = {zoo.config(n, quick=True).key(): n for n in zoo.members(quick=True, notebook=stem)}
    assert set(trained) == set(expected), ({expected.get(k, k) for k in set(expected) ^ set(trained)})


def test_cli_list_json_is_the_text_listing_as_rows(capsys):
    """`zoo list --json`: one JSON array, the same rows (and filters) as the table, with typed fields."""
    shipped = json.loads((SHIPPED / "manifest.json").read_text())["entries"]
    assert main(["zoo", "list", "--quick", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)                    # the whole of stdout is one JSON document
    by_name = {r["name"]: r for r in rows}
    assert by_name["vae-digits-2d"] == {"name": "vae-digits-2d", "kind": "image", "notebooks": "01", "cached": False,
                                        "shipped": "quick:vae-digits-2d" in shipped, "principal": True,
                                        "title": "VAE, 2-D latent, binarized 8x8 digits (notebook 01)"}
    assert by_name["vae-digits-2d"]["shipped"] is True and by_name["beta-vae-digits/beta=0.5"]["principal"] is False
    assert main(["zoo", "list", "--quick"]) == 0
    table = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[0] for line in table] == [r["name"] for r in rows]
    for line, r in zip(table, rows):
        assert line.split()[1:5] == [r["kind"], r["notebooks"], "yes" if r["cached"] else "no",
                                     "yes" if r["shipped"] else "no"]
    assert main(["zoo", "list", "--quick", "--principal", "--json"]) == 0
    principal = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in principal] == [r["name"] for r in rows if r["principal"]]
    assert "vae-digits-2d" in {r["name"] for r in principal} and "beta-vae-digits/beta=0.5" not in {
        r["name"] for r in principal}
