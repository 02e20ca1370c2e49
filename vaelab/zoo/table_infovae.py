"""`vaelab table infovae`: what a strong decoder does to the code under the ELBO and under the MMD-VAE (InfoVAE
with α = 1, Zhao et al. 2019), notebook 04 section 3.

Rows: notebook 04's 8-D models on binarized digits: the ELBO with a factorized MLP decoder (the weak baseline),
the ELBO and the MMD-VAE (MMD weight 10) with a 6-layer PixelCNN decoder, and the same pair with a PixelCNN that
sees z only through its biases. Each is scored on the whole test split: importance-sampled -log p(x), KL, the
mutual information I_q(x; z) with its standard error and its ceiling (the estimator cannot exceed log N), and
active units. Zhao et al.: the ELBO lets a strong decoder ignore z; the MMD-VAE keeps information in it.
"""
from __future__ import annotations

import time

import torch

from ..checks import check_int
from ..data import Dataset
from ..metrics.evaluate import eval_inputs, evaluate
from ..runtime import pick_device
from ..train.experiment import TrainConfig, config_split
from ..train.result_cache import memo
from .catalog import nb04_strong
from .table_stats import check_profile, collect, footer, machine, pm, seed_mean_se, summarise

ROWS = ("elbo-mlp", "elbo-pixelcnn", "mmd-pixelcnn", "elbo-pixelcnn-biases", "mmd-pixelcnn-biases")
PAIRS = {"mmd-pixelcnn": "elbo-pixelcnn", "mmd-pixelcnn-biases": "elbo-pixelcnn-biases"}   # MMD-VAE vs its ELBO
KEYS = ("iw_nll", "kl", "mi", "active_units")
IW_SAMPLES = {"quick": 100}

PAPER = {
    "source": "Zhao et al. (2019): with a PixelCNN decoder the ELBO lets the mutual information fall to about 0 while "
              "InfoVAE (MMD) keeps it; a qualitative pattern, they give no numbers for this data and decoder",
    "rows": {"ELBO, PixelCNN decoder": {"MI": "≈ 0"}, "InfoVAE / MMD-VAE, same decoder": {"MI": "clearly > 0"}},
}


def infovae_config(profile: str, row: str, seed: int = 0) -> TrainConfig:
    """Notebook 04's strong-decoder model `row` (quick profile: binarized 8x8 digits), with `seed`."""
    if check_profile(profile) != "quick":
        raise ValueError(f"profile={profile!r}: the infovae table has only the 'quick' profile so far (binarized "
                         "8x8 digits); a 28x28 PixelCNN per row and seed is hours of CPU training")
    return nb04_strong(True, row).variant(seed=seed)


@torch.inference_mode()
def score(model, x: torch.Tensor, iw_samples: int, seed: int) -> dict:
    """-log p(x), KL, MI (with SE and ceiling) and active units of one model on the test images x (binary)."""
    rep = evaluate(model, Dataset(x.to(model.device), None, {"kind": "binary"}), iw_samples=iw_samples, seed=seed)
    return {**{k: rep[k] for k in KEYS}, "iw_nll_se": rep["iw_nll_se"], "mi_se": rep["mi_se"],
            "mi_ceiling": rep["mi_ceiling"]}


def infovae_table(profile: str = "quick", seeds: int = 3, device=None, progress=None, log=None, rows=ROWS,
                  ray=None) -> dict:
    """Train (or load) each row's model for seeds 0..seeds-1 and score it on the whole test split. A JSON-ready
    record like remedies_table's; summary adds, for each MMD-VAE row, mi_minus_elbo: the paired per-seed difference
    of its MI to the ELBO row with the same decoder, and every row mi_below_ceiling = ceiling - MI."""
    check_profile(profile)
    check_int("seeds", seeds, 1)
    dev = pick_device(device) if ray is None else ray.worker_device(device)    # ray: a cluster.RayOptions
    iw_samples = IW_SAMPLES.get(profile, 100)
    test = config_split(infovae_config(profile, rows[0]), "test")
    x = eval_inputs(test)

    def measure(row, model, history, seed):
        s = memo(score, model, x, iw_samples, seed)
        return {**s, "mi_below_ceiling": s["mi_ceiling"] - s["mi"]}

    t0 = time.perf_counter()
    per_seed, configs = collect(seeds, rows, lambda row, seed: infovae_config(profile, row, seed), measure,
                                device=dev, progress=progress, log=log, ray=ray,
                                line=lambda s: f"nll {s['iw_nll']:7.2f}  kl {s['kl']:5.2f}  mi {s['mi']:5.2f} "
                                               f"(ceiling {s['mi_ceiling']:.2f})  au {s['active_units']}")
    summary = summarise(per_seed)
    for row, base in PAIRS.items():
        if row in per_seed and base in per_seed:
            summary[row]["mi_minus_elbo"] = seed_mean_se([a - b for a, b in zip(per_seed[row]["mi"], per_seed[base]["mi"])])
    return {"table": "infovae", "profile": profile, "seeds": seeds, "device": str(dev),
            "dataset": configs[rows[0]]["dataset"], "n_test": len(test), "iw_samples": iw_samples, "per_seed": per_seed,
            "summary": summary, "configs": configs, "paper": PAPER, "machine": machine(),
            "seconds": time.perf_counter() - t0}


def infovae_markdown(record: dict) -> str:
    head = (f"**infovae**, profile `{record['profile']}`, {record['dataset']}, {record['seeds']} seed(s), "
            f"{record['n_test']} test images, S = {record['iw_samples']} importance samples; nats, mean ± SE across seeds")
    cols = ["row", "-log p(x)", "KL", "MI", "MI − ELBO's (paired)", "MI ceiling − MI", "active units"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row, m in record["summary"].items():
        lines.append("| " + " | ".join([row, pm(m["iw_nll"]), pm(m["kl"]), pm(m["mi"]),
                                        pm(m["mi_minus_elbo"]) if "mi_minus_elbo" in m else "—",
                                        pm(m["mi_below_ceiling"]), pm(m["active_units"], 1)]) + " |")
    return "\n".join(lines + footer(record))
