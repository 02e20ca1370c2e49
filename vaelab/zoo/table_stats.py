"""What every table of `vaelab table` shares: profiles, the fixed test subset, mean ± SE across seeds, the machine."""
from __future__ import annotations

import math
import time

import torch

from ..checks import check_choice
from ..data import Dataset, load_dataset, subset
from ..train.cache import load_or_train
from .lecture import install

PROFILES = ("quick", "lecture", "paper")


def fixed_test_subset(dataset: str, n: int, binarize: str | None = None, vocab_size: int | None = None) -> Dataset:
    """A seeded random subset of n test examples (the same for every model and seed of a table). Random, not the
    first n: binarized MNIST's test rows are stored sorted by digit."""
    return subset(load_dataset(dataset, "test", binarize=binarize, vocab_size=vocab_size), n, seed=0)


def seed_mean_se(values) -> tuple[float, float | None]:
    """Mean and standard error (sample std / sqrt(n)) of a list of numbers; the SE is None for one value (JSON
    null: there is no spread to measure)."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("values must hold at least one number (one per seed), got none")
    m = sum(vals) / len(vals)
    if len(vals) < 2:
        return m, None
    var = sum((v - m) ** 2 for v in vals) / (len(vals) - 1)
    return m, math.sqrt(var / len(vals))


def summarise(per_seed: dict, baseline: str | None = None, key: str = "iw_nll", diff: str = "nll_minus_lm") -> dict:
    """{row: {metric: [value per seed]}} -> {row: {metric: (mean, se)}}. With a baseline row, every other row also
    gets `diff`: the paired per-seed difference of its `key` to the baseline's, as (mean, se) across seeds."""
    out = {}
    base = per_seed.get(baseline, {}).get(key) if baseline else None
    for row, metrics in per_seed.items():
        out[row] = {k: seed_mean_se(v) for k, v in metrics.items()
                    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)}
        if base is not None and row != baseline:
            if len(metrics[key]) != len(base):
                raise ValueError(f"row {row!r} has {len(metrics[key])} seed(s) of {key!r}, the baseline {baseline!r} "
                                 f"{len(base)}: a paired difference needs the same seeds")
            out[row][diff] = seed_mean_se([a - b for a, b in zip(metrics[key], base)])
    return out


def train_and_score(row: str, seed: int, cfg, measure, device, progress=None) -> tuple[dict, float]:
    """One trial of a table: install a shipped checkpoint of cfg (vaelab.zoo.lecture), load_or_train it, score it.
    Returns (measure's scores, wall seconds). The same function runs here (serial) and in a Ray task."""
    t = time.perf_counter()
    install(cfg)
    model, history = load_or_train(cfg, device=device, progress=progress)
    return measure(row, model, history, seed), time.perf_counter() - t


def collect(seeds: int, rows, config, measure, *, device, progress=None, log=None, line=None,
            ray=None) -> tuple[dict, dict]:
    """Train (or load) and score every row for seeds 0..seeds-1, seed by seed. A config whose checkpoint ships
    with vaelab (vaelab.zoo.lecture) is installed into the cache first, so it loads instead of training.

    config(row, seed) -> TrainConfig; measure(row, model, history, seed) -> {metric: number}; line(scores) -> the
    text logged per model (with its wall seconds). Returns per_seed {row: {metric: [value per seed]}} and configs
    {row: the config dict of seed 0}.

    ray: None (one trial after the other, here) or a vaelab.cluster.RayOptions: each (row, seed) is one Ray task
    running train_and_score (measure is shipped to the workers, so it must be picklable); the models land in the
    same cache, and per_seed is assembled in the serial order, so the record is the serial one (bit for bit on
    a CPU, with as many torch threads as options.cpus_per_trial)."""
    trials = [(row, seed, config(row, seed)) for seed in range(seeds) for row in rows]

    def report(i, result):
        if log is not None:
            row, seed, _ = trials[i]
            log(f"seed {seed} {row:<16} {line(result[0]) if line else ''}  ({result[1]:.0f} s)")

    if ray is None:
        results = []
        for i, (row, seed, cfg) in enumerate(trials):
            results.append(train_and_score(row, seed, cfg, measure, device, progress))
            report(i, results[-1])
    else:
        from ..cluster.ray_runner import run_trials
        dev = ray.worker_device(device)
        results = run_trials(train_and_score, [(row, seed, cfg, measure, dev, False) for row, seed, cfg in trials],
                             ray, desc="table trials", on_result=report)
    per_seed: dict = {}
    configs: dict = {}
    for (row, seed, cfg), (scores, _) in zip(trials, results):
        for k, v in scores.items():
            per_seed.setdefault(row, {}).setdefault(k, []).append(v)
        configs.setdefault(row, cfg.to_dict())
    return per_seed, configs


def check_profile(profile: str) -> str:
    return check_choice("profile", profile, PROFILES)


def machine() -> dict:
    """Where a table ran: CPU model, torch version and threads, and the GPU's name when there is one."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "torch": torch.__version__, "threads": torch.get_num_threads(), "gpu": gpu}


def pm(pair, digits: int = 2) -> str:
    """'mean ± se' (just the mean when there is no SE: one seed)."""
    mean, se = pair
    return f"{mean:.{digits}f}" if se is None else f"{mean:.{digits}f} ± {se:.{digits}f}"


def footer(record: dict) -> list[str]:
    """The markdown lines under a table: the paper's figures and where and how long it ran."""
    lines = []
    paper = record.get("paper")
    if paper:
        cols = list(next(iter(paper["rows"].values())))
        lines += ["", f"Paper, for orientation: {paper['source']}.", "", "| row | " + " | ".join(cols) + " |",
                  "|---|" + "---|" * len(cols)]
        lines += [f"| {r} | " + " | ".join(str(v[c]) for c in cols) + " |" for r, v in paper["rows"].items()]
    mach = record.get("machine")
    if mach:
        lines += ["", f"Ran on {mach['gpu'] or mach['cpu']} ({record['device']}, torch {mach['torch']}, "
                      f"{mach['threads']} thread(s)) in {record['seconds'] / 60:.1f} min."]
    return lines
