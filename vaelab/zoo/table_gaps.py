"""`vaelab table gaps`: the inference-gap decomposition (Cremer et al. 2018) for encoders of three sizes.

Rows: notebook 03's 8-D MLP VAE ('main') and the same VAE with a small and with a large encoder. On each,
vaelab.metrics.inference_gaps splits log p(x) - ELBO[q] into the approximation gap (log p(x) - ELBO[q*], the
Gaussian family's limit) and the amortization gap (ELBO[q*] - ELBO[q], the encoder's), q* fitted per example.
Cremer et al.: a bigger encoder shrinks the amortization gap; the approximation gap belongs to the family.
"""
from __future__ import annotations

import time

from ..checks import check_int
from ..metrics.evaluate import eval_inputs
from ..metrics.gaps import inference_gaps
from ..runtime import pick_device
from ..train.experiment import TrainConfig
from ..train.result_cache import memo
from .catalog import nb03_gap
from .table_stats import check_profile, collect, fixed_test_subset, footer, machine, pm, summarise

ROWS = ("encoder=32", "main", "encoder=512x512")
KEYS = ("log_px", "elbo_qstar", "elbo_q", "approximation_gap", "amortization_gap", "qstar_converged")

# profile -> (test images, importance samples K, per-example optimisation steps)
SIZES = {"quick": (300, 500, 500), "lecture": (1000, 1000, 500), "paper": (10000, 5000, 1000)}

PAPER = {
    "source": "Cremer et al. (2018), MNIST, factorised Gaussian q, latent 50, a 200-200 MLP trained for thousands "
              "of epochs (a larger, longer-trained model than any row here); nats, as quoted in issue 15 and "
              "../shared/data/README.md",
    "rows": {"Cremer et al. VAE": {"log p(x)": -89.80, "approximation gap": 1.4, "amortization gap": 1.3}},
}


def gap_config(profile: str, row: str, seed: int = 0) -> TrainConfig:
    """The config of one row: notebook 03's gap models (binarized digits in the quick profile, binarized MNIST
    otherwise; the paper profile trains them 10 times longer), with `seed`."""
    check_profile(profile)
    cfg = nb03_gap(profile == "quick", profile != "quick", row)
    if profile == "paper":
        cfg = cfg.variant(epochs=cfg.epochs * 10)
    return cfg.variant(seed=seed)


def gaps_table(profile: str = "quick", seeds: int = 3, device=None, progress=None, log=None, rows=ROWS,
               n_test: int | None = None, iw_samples: int | None = None, ray=None) -> dict:
    """Train (or load) each row's model for seeds 0..seeds-1 and decompose its gaps on the same test images.
    A JSON-ready record like remedies_table's, without a baseline row. n_test, iw_samples: fewer test images or
    importance samples than the profile's (a notebook in class)."""
    check_profile(profile)
    check_int("seeds", seeds, 1)
    dev = pick_device(device) if ray is None else ray.worker_device(device)    # ray: a cluster.RayOptions
    n_default, k_default, steps = SIZES[profile]
    n_test = n_default if n_test is None else check_int("n_test", n_test, 1)
    iw_samples = k_default if iw_samples is None else check_int("iw_samples", iw_samples, 1)
    first = gap_config(profile, rows[0])
    test = fixed_test_subset(first.dataset, n_test, binarize=first.binarize)
    x = eval_inputs(test)

    def measure(row, model, history, seed):
        res = memo(inference_gaps, model, x, iw_samples=iw_samples, steps=steps, fullcov=False, seed=seed)
        return {**{k: res[k] for k in KEYS}, **{f"{k}_se": res[f"{k}_se"] for k in KEYS[:5]}}

    t0 = time.perf_counter()
    per_seed, configs = collect(seeds, rows, lambda row, seed: gap_config(profile, row, seed), measure, device=dev,
                                progress=progress, log=log, ray=ray,
                                line=lambda s: f"log p(x) {s['log_px']:8.3f}  approximation {s['approximation_gap']:5.2f}"
                                               f"  amortization {s['amortization_gap']:5.2f}")
    return {"table": "gaps", "profile": profile, "seeds": seeds, "device": str(dev), "dataset": first.dataset,
            "n_test": len(test), "iw_samples": iw_samples, "steps": steps, "per_seed": per_seed,
            "summary": summarise(per_seed), "configs": configs, "paper": PAPER, "machine": machine(),
            "seconds": time.perf_counter() - t0}


def gaps_markdown(record: dict) -> str:
    head = (f"**gaps**, profile `{record['profile']}`, {record['dataset']}, {record['seeds']} seed(s), "
            f"{record['n_test']} test images, S = {record['iw_samples']} importance samples, {record['steps']} steps for q*; "
            "nats, mean ± SE across seeds")
    cols = ["row", "log p(x)", "ELBO[q*]", "ELBO[q]", "approximation gap", "amortization gap", "q* converged"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row, m in record["summary"].items():
        lines.append("| " + " | ".join([row] + [pm(m[k]) for k in KEYS]) + " |")
    return "\n".join(lines + footer(record))
