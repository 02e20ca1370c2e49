"""Zoo checkpoints: shipped quick-mode files verified by sha256, the cache (load_or_train), and the manifest.

Two manifests, one format ({"format": 1, "entries": {"quick:NAME" | "full:NAME": record}}):
  - the build manifest, $VAELAB_CACHE/zoo/manifest.json, written by `zoo build`;
  - the shipped manifest, vaelab/zoo/shipped/manifest.json, written by `zoo build --quick --ship`.
A record holds name, mode, config (TrainConfig.to_dict()), cache key, checkpoint file, sha256, metrics
(evaluate() on the test split), vaelab_version and the training seconds.

A shipped checkpoint is used when its recorded *config* equals the requested one (not its cache key, which
includes vaelab's version: a version bump alone must not unship it; tests/test_zoo.py retrains shipped configs
and compares metrics, so a change to training that alters the weights is caught there). It is copied into the
cache, so every later load_or_train of that config (sweep helpers included) finds it. A sha256 mismatch is
corruption: a loud ZooWarning, and the entry is retrained into the cache.

Each manifest entry is validated on reading (a malformed one is dropped with a ZooWarning), and `zoo build`
records each entry by a read-modify-write under a file lock (manifest.json.lock), so concurrent builds keep
every entry. An entry whose training is interrupted (Ctrl-C) is not built and not recorded.
"""
from __future__ import annotations

import json
import tempfile
import time
import warnings
from pathlib import Path

import torch

from .._version import __version__
from ..data import subset
from ..data.registry import OFFLINE
from ..data.download import sha256_file
from ..metrics.encoder_free import encoder_free_report
from ..metrics.evaluate import eval_inputs, evaluate
from ..runtime import cache_dir, dir_problem, is_quick, pick_device
from ..train.cache import load_or_train, cache_path
from ..files import file_lock
from ..train.checkpoint import atomic_write_bytes, write_json
from ..train.experiment import TrainConfig, config_split
from .catalog import config, entry, members, shipped_names
from .catalog import names as principal_names

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
SHIP_DATASETS = OFFLINE                          # offline datasets: nothing to download to use them
SHIP_LIMIT_BYTES = 5_000_000
METRIC_KEYS = ("elbo", "iw_nll", "rec", "kl", "mi", "active_units", "ppl", "nll_per_token", "n", "iw_samples",
               "log_z", "log_z_se")
FORMAT = 1


class ZooWarning(UserWarning):
    """A shipped zoo checkpoint failed its sha256 check (or is missing) and is being retrained."""


def _mode(quick) -> bool:
    return is_quick() if quick is None else bool(quick)


def record_key(name: str, quick: bool) -> str:
    return f"{'quick' if quick else 'full'}:{name}"


def manifest_path(root=None) -> Path:
    """The build manifest: $VAELAB_CACHE/zoo/manifest.json (or ROOT/zoo/manifest.json)."""
    return (Path(root) if root is not None else cache_dir()) / "zoo" / "manifest.json"


RECORD_FIELDS = {"name": str, "mode": str, "config": dict, "sha256": str, "metrics": dict}


def _record_problem(key, rec) -> str | None:
    """Why a manifest entry cannot be used, or None: a dict with the RECORD_FIELDS of the right types."""
    if not isinstance(key, str) or not isinstance(rec, dict):
        return f"not a record but {type(rec).__name__}"
    bad = [k for k, t in RECORD_FIELDS.items() if not isinstance(rec.get(k), t)]
    return f"missing or malformed {bad}" if bad else None


def read_manifest(path) -> dict:
    """{'format', 'entries'}; a missing file is empty, an unreadable one is empty with a warning, and each malformed
    entry is dropped with a ZooWarning (the others are kept)."""
    path = Path(path)
    if not path.exists():
        return {"format": FORMAT, "entries": {}}
    try:
        data = json.loads(path.read_text())
        if not (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("entries"), dict)):
            raise ValueError(f"not a zoo manifest (format {FORMAT})")
    except (ValueError, OSError) as err:
        warnings.warn(f"zoo manifest {path} is unreadable ({err}); starting a new one", ZooWarning, stacklevel=2)
        return {"format": FORMAT, "entries": {}}
    entries = {}
    for key, rec in data["entries"].items():
        problem = _record_problem(key, rec)
        if problem:
            warnings.warn(f"zoo manifest {path}: dropping entry {key!r} ({problem})", ZooWarning, stacklevel=2)
        else:
            entries[key] = rec
    return {**data, "entries": entries}


def record_entry(path, key: str, rec: dict) -> None:
    """Set one entry of the manifest at `path`, read-modify-write under a file lock: concurrent builds keep all."""
    with file_lock(path):
        man = read_manifest(path)
        man["entries"][key] = rec
        write_json(path, man)


def shipped_record(name: str, cfg: TrainConfig) -> dict | None:
    """The shipped manifest's record of `name` whose config equals `cfg`, or None (not shipped)."""
    for rec in read_manifest(SHIPPED_DIR / "manifest.json")["entries"].values():
        if rec["name"] == name and TrainConfig.from_record(rec["config"]) == cfg:
            return rec
    return None


def install_shipped(name: str, cfg: TrainConfig, root=None) -> bool:
    """Copy the shipped checkpoint of (name, cfg) into the cache when it is shipped and intact; True if copied.

    Nothing happens when the cache already holds cfg. A file whose sha256 differs from the manifest's is
    corrupt: a ZooWarning says so and the caller's load_or_train retrains the entry."""
    target = cache_path(cfg, root)
    rec = None if target.exists() else shipped_record(name, cfg)
    if rec is None:
        return False
    src = SHIPPED_DIR / rec["file"]
    if not intact(src, rec["sha256"], "ZOO", f"retraining {name!r} into the cache instead",
                  "python -m vaelab zoo build --quick --ship"):
        return False
    atomic_write_bytes(target, lambda f: f.write(src.read_bytes()))
    return True


def intact(src: Path, sha256: str, what: str, instead: str, rebuild: str) -> bool:
    """True if the shipped file src has the manifest's sha256; else a loud ZooWarning (saying what happens
    instead and the command that rebuilds the files) and False."""
    actual = sha256_file(src) if src.exists() else "missing"
    if actual == sha256:
        return True
    warnings.warn(f"SHIPPED {what} CHECKPOINT IS CORRUPT: {src} has sha256 {actual}, the manifest says {sha256}; "
                  f"{instead}. Rebuild the shipped files with `{rebuild}`.", ZooWarning, stacklevel=4)
    return False


def prefetch(notebook: str | None = None, quick: bool | None = None) -> list[str]:
    """Copy the shipped checkpoints of a notebook's models (all entries when notebook=None) into the cache,
    without training anything; returns the names copied. Entries that are not shipped are left alone."""
    q = _mode(quick)
    return [n for n in members(quick=q, notebook=notebook) if install_shipped(n, config(n, q))]


def load(name: str, quick: bool | None = None, device=None, progress=None):
    """(model in eval mode, history) of zoo entry `name`: the shipped checkpoint when it matches, else
    load_or_train (cached; trains on a miss). quick=None means vaelab.runtime.is_quick()."""
    cfg = config(name, quick)
    install_shipped(name, cfg)
    return load_or_train(cfg, device=device, progress=progress)


def test_data(name: str, n: int | None = None, quick: bool | None = None):
    """The test split of the entry's dataset, binarized like its training data; n: a seeded subset."""
    cfg = config(name, quick)
    ds = config_split(cfg, "test")
    return subset(ds, n, seed=cfg.seed) if n is not None else ds


def score(model, name: str, quick: bool | None = None, seed: int = 0) -> dict:
    """The manifest's metrics: evaluate() on the test split (quick: 500 examples, K=10; full: all, K=100); for an
    encoder-free model (objective 'sri', an EBM prior) encoder_free_report's iw_nll, log_z and active units."""
    q = _mode(quick)
    test = test_data(name, 500 if q else None, quick=q)
    with torch.random.fork_rng(devices=[]):
        if config(name, q).objective == "sri" or model.prior is not None:
            # no encoder was trained: IS with a proposal fitted to Langevin chains (vaelab.metrics.encoder_free)
            report = encoder_free_report(model, eval_inputs(test, seed).to(model.device), iw_samples=10 if q else 100,
                                         chains=4 if q else 8, steps=50 if q else 200, seed=seed,
                                         log_z_samples=10_000 if q else 100_000)
        else:
            report = evaluate(model, test, iw_samples=10 if q else 100, seed=seed)
    return {k: report[k] for k in METRIC_KEYS if k in report}


def status(quick: bool | None = None, all_members: bool = True) -> list[dict]:
    """One row per entry of this mode: name, kind, notebooks, cached, shipped (for `zoo list`)."""
    q = _mode(quick)
    rows = []
    for n in (members(quick=q) if all_members else principal_names(quick=q)):
        e, cfg = entry(n), config(n, q)
        rows.append({"name": n, "kind": e.kind, "notebooks": ",".join(s[:2] for s in e.notebooks) or "-",
                     "cached": cache_path(cfg).exists(), "shipped": shipped_record(n, cfg) is not None,
                     "principal": e.principal, "title": e.title})
    return rows


def _check_shippable(records: list[dict]) -> None:
    bad = [r["name"] for r in records if r["mode"] != "quick" or r["config"]["dataset"] not in SHIP_DATASETS]
    if bad:
        raise ValueError(f"only quick-mode entries on offline datasets {list(SHIP_DATASETS)} can be shipped; "
                         f"not {bad}")


def _ship(records: list[dict], replace_all: bool) -> int:
    """Copy built quick checkpoints into SHIPPED_DIR and update its manifest; returns the shipped bytes."""
    _check_shippable(records)
    path = SHIPPED_DIR / "manifest.json"
    man = {"format": FORMAT, "entries": {}} if replace_all else read_manifest(path)
    for rec in records:
        src = Path(rec.pop("path"))
        rec["file"] = rec["name"].replace("/", "__") + ".pt"
        atomic_write_bytes(SHIPPED_DIR / rec["file"], lambda f, s=src: f.write(s.read_bytes()))
        (SHIPPED_DIR / rec["file"]).chmod(0o644)        # repository files, not private temp files
        man["entries"][record_key(rec["name"], True)] = rec
    keep = {r["file"] for r in man["entries"].values()} | {"manifest.json"}
    for stale in SHIPPED_DIR.glob("*.pt"):
        if stale.name not in keep:
            stale.unlink()
    write_json(path, man)
    path.chmod(0o644)
    total = sum((SHIPPED_DIR / r["file"]).stat().st_size for r in man["entries"].values())
    if total > SHIP_LIMIT_BYTES:
        warnings.warn(f"shipped zoo checkpoints total {total / 1e6:.1f} MB, over the {SHIP_LIMIT_BYTES / 1e6:g} MB "
                      f"the repository allows; ship fewer entries", ZooWarning, stacklevel=2)
    return total


def train_entry(n: str, cfg: TrainConfig, ship: bool, device, progress=None):
    """What `build` trains for entry n: the shipped checkpoint installed, or load_or_train into the cache; with
    ship, trained from scratch in a fresh temporary cache, then copied into the cache. Returns (model, history,
    from_shipped, training seconds)."""
    shipped = False if ship else install_shipped(n, cfg)
    t0 = time.perf_counter()
    if ship:
        with tempfile.TemporaryDirectory() as fresh:
            model, history = load_or_train(cfg, device=device, progress=progress, root=fresh)
            atomic_write_bytes(cache_path(cfg), lambda f: f.write(cache_path(cfg, fresh).read_bytes()))
    else:
        model, history = load_or_train(cfg, device=device, progress=progress)
    return model, history, shipped, time.perf_counter() - t0


def _train_entry_task(n: str, cfg: TrainConfig, ship: bool, device) -> tuple[bool, float]:
    """train_entry in a Ray task: the model stays in the (shared) cache; (from_shipped, seconds) come back."""
    return train_entry(n, cfg, ship, device, progress=False)[2:]


def build(names=None, quick: bool | None = None, device=None, progress=None, ship: bool = False,
          log=None, ray=None) -> list[dict]:
    """Build (load_or_train) each named entry, default every member of the mode, and record it in the
    build manifest. Metrics are recomputed only for a checkpoint whose sha256 the manifests do not know.

    ship=True (quick mode only) trains each entry from scratch in a fresh temporary cache (never from the
    cache or the shipped files, so a stale file cannot be re-shipped), copies the result into the cache and
    into vaelab/zoo/shipped/. With names=None it ships `shipped_names()` (the principal models and notebook 05's
    image modes) and replaces the whole shipped set; with names it adds or updates those entries."""
    q = _mode(quick)
    if ship and not q:
        raise ValueError("ship=True needs quick mode: only quick-mode checkpoints are shipped")
    todo = (shipped_names(q) if ship else members(quick=q)) if names is None else [entry(n).name for n in names]
    for n in todo:
        config(n, q)                                    # a missing mode fails before anything trains
    if ship:                                            # and so does an entry that cannot be shipped
        _check_shippable([{"name": n, "mode": "quick" if q else "full", "config": config(n, q).to_dict()}
                          for n in todo])
    problem = dir_problem(cache_dir())
    if problem:
        raise ValueError(f"cannot build the zoo into the cache folder {cache_dir()}: {problem}; set VAELAB_CACHE "
                         "to a writable folder")
    trained = {}
    if ray is not None:         # ray: a cluster.RayOptions. Each entry trains as a Ray task; the loop below loads it
        from ..cluster.ray_runner import run_trials
        jobs = [(n, config(n, q), ship, ray.worker_device(device)) for n in todo]
        trained = dict(zip(todo, run_trials(_train_entry_task, jobs, ray, desc="zoo trials")))
    # here: loading and scoring (with Ray, tasks with a GPU share may train where this machine has no GPU)
    dev = pick_device("auto" if ray is not None and ray.gpus_per_trial else device)
    mpath = manifest_path()
    records = []
    for n in todo:
        cfg = config(n, q)
        try:
            model, history, shipped, seconds = train_entry(n, cfg, ship, dev, progress) if n not in trained \
                else (*load_or_train(cfg, device=dev), *trained[n])
        except KeyboardInterrupt:
            if log:
                log(f"{n:<34} interrupted: not built (nothing recorded for it)")
            raise
        path = cache_path(cfg)
        sha = sha256_file(path)
        old = read_manifest(mpath)["entries"].get(record_key(n, q)) or shipped_record(n, cfg) or {}
        metrics = old["metrics"] if old.get("sha256") == sha else score(model, n, q)
        rec = {"name": n, "mode": "quick" if q else "full", "config": cfg.to_dict(), "key": cfg.key(),
               "sha256": sha, "bytes": path.stat().st_size, "metrics": metrics, "vaelab_version": __version__,
               "epochs_trained": len(history), "seconds": round(seconds, 2), "from_shipped": shipped}
        record_entry(mpath, record_key(n, q), {**rec, "checkpoint": str(path)})   # each entry: Ctrl-C keeps work
        records.append({**rec, "path": str(path)})
        if log:
            score_name = "elbo" if "elbo" in metrics else "iw_nll"     # encoder-free models have no ELBO
            log(f"{n:<34} {'shipped' if shipped else 'built':<8} {seconds:7.1f} s  {score_name} "
                f"{metrics[score_name]:9.3f}")
    if ship:
        _ship([{k: v for k, v in r.items() if k not in ("from_shipped", "seconds")} for r in records],
              replace_all=names is None)
    return records
