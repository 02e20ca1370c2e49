"""The papers' tables at a chosen profile, over several seeds: what `python -m vaelab table NAME` prints.

Profiles (vaelab.zoo.table_stats.PROFILES):
  quick    offline data (synthetic text, 8x8 digits) and notebook 02/03's quick-mode models: seconds per model
  lecture  real data (short Yelp, binarized MNIST 28x28), sized for this project's CPU: minutes per model
  paper    larger models and whole test sets, closer to the papers: meant for a GPU

Every model goes through load_or_train, so a table over models the zoo or an earlier run trained reuses their
checkpoints, and every score through vaelab.memo, so a second run of the same table (same vaelab code) only
loads. Each metric is given per seed and as mean ± standard error across seeds. With ray= (a
vaelab.cluster.RayOptions; `vaelab table ... --ray`) every model is a Ray task, and the record is the same.

    remedies  posterior collapse on text and its remedies, beside a language model (vaelab.zoo.table_remedies)
    gaps      the approximation and amortization gaps for three encoder sizes (vaelab.zoo.table_gaps)
    infovae   the ELBO against the MMD-VAE with a strong (PixelCNN) decoder: MI, KL, AU (vaelab.zoo.table_infovae)
    savae     Kim et al.'s five training modes on a text VAE, beside a language model (vaelab.zoo.table_savae)
    inference the VAE, SA-VAE and short-run inference (SRI, no encoder) on that text VAE (vaelab.zoo.table_inference)
"""
from __future__ import annotations

import json
import math
import time

from ..checks import check_choice, check_int
from ..runtime import pick_device
from ..train.cache import load_or_train
from . import lecture
from . import table_gaps, table_inference, table_infovae
from .catalog import MODES
from .table_gaps import gap_config, gaps_markdown, gaps_table
from .table_inference import inference_markdown, inference_table
from .table_infovae import infovae_markdown, infovae_table
from .table_remedies import LM, TEXT_REMEDIES, remedies_markdown, remedies_table, remedy_configs
from .table_savae import savae_markdown, savae_table
from .table_stats import PROFILES

TABLES = {"remedies": (remedies_table, remedies_markdown), "gaps": (gaps_table, gaps_markdown),
          "infovae": (infovae_table, infovae_markdown), "savae": (savae_table, savae_markdown),
          "inference": (inference_table, inference_markdown)}
# the rows each table can have (the language model 'lm' is always in remedies, savae and inference: the others are
# paired with it)
TABLE_ROWS = {"remedies": TEXT_REMEDIES, "gaps": table_gaps.ROWS, "infovae": table_infovae.ROWS, "savae": MODES,
              "inference": table_inference.ROWS}
TABLES_WITH_LM = ("remedies", "savae", "inference")
# the rows of each table whose lecture-profile checkpoints ship with vaelab (vaelab.zoo.lecture), for every seed
LECTURE_ROWS = {"remedies": (LM, "none", "beta", "freebits"), "gaps": ("main",)}
LECTURE_SEEDS = 3


def build_table(name: str, profile: str = "quick", seeds: int = 3, device=None, progress=None, log=None,
                rows=None, ray=None, **options) -> dict:
    """The record of table `name` (one of TABLES) at `profile` (one of PROFILES) over seeds 0..seeds-1; rows: a
    subset of TABLE_ROWS[name] in that order (None: all); ray: a vaelab.cluster.RayOptions to run each model
    (one row, one seed) as a Ray task (None: one after the other, here; the same record). options: keyword
    arguments only that table's builder takes (inference: ais_sentences, ais_steps)."""
    build, _ = TABLES[check_choice("table", name, tuple(TABLES))]
    if rows is None:
        return build(profile, seeds, device=device, progress=progress, log=log, ray=ray, **options)
    rows = [r for r in rows if not (r == LM and name in TABLES_WITH_LM)]     # always there
    for r in rows:
        check_choice("rows", r, TABLE_ROWS[name])
    if not rows:
        raise ValueError(f"rows names no row of table {name!r} besides 'lm'; choose from {', '.join(TABLE_ROWS[name])}")
    chosen = tuple(r for r in TABLE_ROWS[name] if r in rows)
    return build(profile, seeds, device=device, progress=progress, log=log, ray=ray,
                 **({"remedies": chosen} if name == "remedies" else {"rows": chosen}), **options)


def lecture_configs(seeds: int = LECTURE_SEEDS) -> list:
    """Every TrainConfig whose lecture-profile checkpoint ships: LECTURE_ROWS of each table, seeds 0..seeds-1 (the
    text rows first)."""
    check_int("seeds", seeds, 1)
    text = LECTURE_ROWS["remedies"]
    return ([remedy_configs("lecture", seed, text[1:])[row] for seed in range(seeds) for row in text]
            + [gap_config("lecture", row, seed) for seed in range(seeds) for row in LECTURE_ROWS["gaps"]])


def ship_lecture(seeds: int = LECTURE_SEEDS, device=None, progress=None, log=None) -> int:
    """Train what the cache lacks of lecture_configs() (from scratch: the shipped files are never installed
    here) and replace the shipped lecture checkpoints with half-precision copies; returns the bytes shipped."""
    dev = pick_device(device)
    cfgs = lecture_configs(seeds)
    for cfg in cfgs:
        t = time.perf_counter()
        load_or_train(cfg, device=dev, progress=progress)
        if log is not None:
            log(f"{cfg.dataset} {cfg.objective:<9} seed {cfg.seed}  ({time.perf_counter() - t:.0f} s)")
    return lecture.ship(cfgs)


def to_json(record: dict) -> str:
    """A table's record as strict JSON: a non-finite number (no such value in a finished table, but a diverged
    metric would be one) becomes null rather than the NaN that JSON parsers such as jq refuse."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(record), allow_nan=False)


def to_markdown(record: dict) -> str:
    """A table's record as markdown."""
    return TABLES[check_choice("record['table']", record.get("table"), tuple(TABLES))][1](record)


__all__ = ["LECTURE_ROWS", "PROFILES", "TABLES", "TABLE_ROWS", "build_table", "lecture_configs", "ship_lecture", "to_json",
           "to_markdown"]
