"""`--ray`: a table, zoo build and sharded evaluation through a local Ray runtime with 2 CPUs give the serial
results bit for bit; a killed worker is retried; an interrupted run resumes without retraining what it finished.

Needs the cluster extra (pip install "vaelab[cluster]"; `make test` installs it). Ray starts once for the module.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

if os.environ.get("CI"):
    import ray                  # CI runs the --ray tests: a missing cluster extra fails there, it does not skip
else:
    ray = pytest.importorskip("ray", reason="the cluster extra (pip install 'vaelab[cluster]') is not installed")

from vaelab.cluster import RayOptions, ray_map                      # noqa: E402
from vaelab.metrics.evaluate import eval_inputs                     # noqa: E402
from vaelab.metrics.gaps import inference_gaps                      # noqa: E402
from vaelab.metrics.shards import sharded_inference_gaps            # noqa: E402
from vaelab.train.cache import cache_path, load_or_train            # noqa: E402
from vaelab.zoo import store, table_gaps                            # noqa: E402
from vaelab.zoo.table_stats import collect, fixed_test_subset       # noqa: E402

ROWS = ("encoder=32", "main")
GAP_CONFIG = table_gaps.gap_config          # before any test patches it
SEEDS = 2
OPTS = RayOptions(max_retries=2)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local runtime with 2 CPUs for the module (run_trials uses it and leaves it running). The functions of
    this file travel to the workers by value: the workers cannot import the tests."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def config(row, seed):
    return GAP_CONFIG("quick", row, seed).variant(epochs=20)     # 8x8 binarized digits, seconds


def digits_x():
    return eval_inputs(fixed_test_subset("digits", 40, binarize=config("main", 0).binarize))


def measure(row, model, history, seed):
    """A cheap score that exercises the random streams: gaps with K = 30 and 20 steps of q*, per seed."""
    res = inference_gaps(model, digits_x(), iw_samples=30, steps=20, fullcov=False, seed=seed)
    return {"log_px": res["log_px"], "elbo_q": res["elbo_q"], "elbo_qstar": res["elbo_qstar"],
            "loss": history[-1]["loss"]}


def one_thread(fn, *args, **kwargs):
    """fn in this process with 1 torch thread, as each Ray task (cpus_per_trial=1) runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(*args, **kwargs)
    finally:
        torch.set_num_threads(before)


def in_cache(folder: Path, monkeypatch, fn, *args, **kwargs):
    monkeypatch.setenv("VAELAB_CACHE", str(folder))
    return fn(*args, **kwargs)


def assert_same_weights(cache_a: Path, cache_b: Path):
    for row in ROWS:
        for seed in range(SEEDS):
            a, _ = load_or_train(config(row, seed), device="cpu", root=cache_a)
            b, _ = load_or_train(config(row, seed), device="cpu", root=cache_b)
            sa, sb = a.state_dict(), b.state_dict()
            assert list(sa) == list(sb)
            assert all(torch.equal(sa[k], sb[k]) for k in sa), (row, seed)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The serial collect of ROWS x SEEDS with `measure`, and its cache."""
    folder = tmp_path_factory.mktemp("serial")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VAELAB_CACHE", str(folder))
        return one_thread(collect, SEEDS, ROWS, config, measure, device="cpu"), folder


def test_gaps_table_on_ray_is_the_serial_table_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.setitem(table_gaps.SIZES, "quick", (40, 30, 20))     # 40 images, K = 30, 20 steps: seconds
    monkeypatch.setattr(table_gaps, "gap_config", lambda p, r, seed=0: config(r, seed))
    run = dict(profile="quick", seeds=SEEDS, rows=ROWS, device="cpu")
    plain = in_cache(tmp_path / "serial", monkeypatch, one_thread, table_gaps.gaps_table, **run)
    on_ray = in_cache(tmp_path / "ray", monkeypatch, table_gaps.gaps_table, **run, ray=OPTS)
    for rec in (plain, on_ray):
        rec.pop("seconds"), rec.pop("machine")
    assert on_ray == plain                          # per_seed, summary, configs: every number equal
    assert_same_weights(tmp_path / "serial", tmp_path / "ray")


def test_a_killed_worker_is_retried_and_the_table_completes(tmp_path, monkeypatch, serial):
    marker = tmp_path / "killed-once"

    def dies_once(row, model, history, seed):
        if (row, seed) == ("main", 1) and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)                            # the worker process dies mid-run, as if killed
        return measure(row, model, history, seed)

    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "ray"))
    result = collect(SEEDS, ROWS, config, dies_once, device="cpu", ray=OPTS)
    assert marker.exists() and int(marker.read_text()) != os.getpid()     # a worker, not this process, died
    assert result == serial[0]
    assert_same_weights(serial[1], tmp_path / "ray")


def test_without_retries_a_killed_worker_fails_the_run(tmp_path, monkeypatch):
    marker = tmp_path / "killed-once"

    def dies_once(row, model, history, seed):
        if not marker.exists():
            marker.write_text("x")
            os._exit(1)
        return {"n": 1.0}

    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "ray"))
    with pytest.raises(ray.exceptions.WorkerCrashedError):
        collect(1, ("main",), config, dies_once, device="cpu", ray=RayOptions(max_retries=0))


def test_an_interrupted_run_resumes_without_retraining_what_it_finished(tmp_path, monkeypatch, serial):
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "ray"))

    def fails_on_the_last(row, model, history, seed):
        if (row, seed) == (ROWS[-1], SEEDS - 1):
            raise ValueError("interrupted on purpose")
        return measure(row, model, history, seed)

    with pytest.raises(ValueError, match="interrupted on purpose"):
        collect(SEEDS, ROWS, config, fails_on_the_last, device="cpu", ray=OPTS)
    done = {p: p.stat().st_mtime_ns for row in ROWS for s in range(SEEDS)
            if (p := cache_path(config(row, s))).exists()}
    assert done                                      # the first run finished some trainings before it stopped
    assert collect(SEEDS, ROWS, config, measure, device="cpu", ray=OPTS) == serial[0]
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())     # loaded, not trained again


def test_sharded_gaps_on_ray_are_the_serial_gaps(serial):
    model, _ = load_or_train(config("main", 0), device="cpu", root=serial[1])
    x = eval_inputs(fixed_test_subset("digits", 60, binarize=config("main", 0).binarize))
    kw = dict(iw_samples=30, steps=20, fullcov=True, batch_size=20, seed=3)
    plain = one_thread(inference_gaps, model, x, **kw)
    sharded = sharded_inference_gaps(model, x, 3, map_fn=ray_map(OPTS), **kw)
    assert {k: v for k, v in sharded.items() if k != "per_example"} == \
        {k: v for k, v in plain.items() if k != "per_example"}
    assert all(torch.equal(sharded["per_example"][k], v) for k, v in plain["per_example"].items())


def test_zoo_build_on_ray_records_the_serial_manifest(tmp_path, monkeypatch):
    names = ["gap-bdigits/main", "gap-bdigits/encoder=32"]
    serial_recs = in_cache(tmp_path / "serial", monkeypatch, one_thread, store.build, names, quick=True,
                           device="cpu", progress=False)
    ray_recs = in_cache(tmp_path / "ray", monkeypatch, store.build, names, quick=True, device="cpu",
                        progress=False, ray=OPTS)
    # a checkpoint's file also holds each epoch's wall seconds: its sha256 and size differ between any two runs
    drop = ("seconds", "path", "sha256", "bytes")
    assert [{k: v for k, v in r.items() if k not in drop} for r in ray_recs] == \
        [{k: v for k, v in r.items() if k not in drop} for r in serial_recs]       # metrics included
    for a, b in zip(ray_recs, serial_recs):
        wa, wb = torch.load(a["path"], weights_only=True), torch.load(b["path"], weights_only=True)
        assert wa.keys() == wb.keys()
        sa, sb = wa["state_dict"], wb["state_dict"]
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    manifest = store.read_manifest(store.manifest_path(tmp_path / "ray"))["entries"]
    assert sorted(manifest) == sorted(store.record_key(n, True) for n in names)


def test_a_beta_sweep_on_ray_is_the_serial_sweep(tmp_path, monkeypatch):
    from vaelab.train.experiment import TrainConfig
    from vaelab.train.sweeps import beta_sweep

    base = TrainConfig(dataset="digits", latent_dim=4, hidden=[64, 64], epochs=10, seed=0)
    plain = in_cache(tmp_path / "serial", monkeypatch, one_thread, beta_sweep, [0.5, 2.0], base, device="cpu")
    on_ray = in_cache(tmp_path / "ray", monkeypatch, one_thread, beta_sweep, [0.5, 2.0], base, device="cpu", ray=OPTS)
    assert (tmp_path / "ray").exists()
    for a, b in zip(plain, on_ray):
        assert {k: a[k] for k in ("rate", "distortion", "elbo", "elbo_se")} == \
            {k: b[k] for k in ("rate", "distortion", "elbo", "elbo_se")}
        sa, sb = a["model"].state_dict(), b["model"].state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
