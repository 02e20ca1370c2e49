"""`vaelab table savae`: Kim et al. (2018)'s five training modes on a collapse-prone LSTM text VAE, beside a
language model.

Rows: 'lm' (the decoder alone, objective 'lm', exact NLL), then the modes elbo (VAE), svi, vae+svi, vae+svi+kl and
savae, trained alike. Every mode is scored with the same test-time refinement (its config's K SVI steps; 'svi'
starts from the prior): ELBO before and after, -log p(x) by importance sampling around q_K, KL, MI and active units
of q_K (vaelab.metrics.savae_report). The paper's finding: SA-VAE keeps KL > 0 and active units at an NLL no worse
than the VAE's and the language model's.
"""
from __future__ import annotations

import time

from ..checks import check_int
from ..inference.savae_modes import SAVAE_MODES
from ..metrics.savae import savae_report
from ..runtime import pick_device
from ..train.experiment import TrainConfig
from ..train.result_cache import memo
from .catalog import MODES, nb05_text
from .table_remedies import LM, score
from .table_stats import check_profile, collect, fixed_test_subset, footer, machine, pm, summarise

# Kim et al.'s settings: K SVI steps at lr 1 on the batch-mean loss, i.e. 1/B per example; momentum 0.5; clip 5;
# KL warm-up over 10 epochs; LSTM sizes scaled down. profile -> (config, test sentences, importance samples)
_SVI = dict(svi_lr=1 / 32, svi_momentum=0.5, svi_clip=5.0, hvp="fd")
SIZES = {
    "quick": (None, 500, 50),
    "lecture": (dict(dataset="short_yelp", model="lstm", objective="savae", latent_dim=32, hidden=[128], epochs=20,
                     batch_size=32, kl_warmup=10, svi_steps=10, **_SVI), 2000, 50),
    "paper": (dict(dataset="short_yelp", model="lstm", objective="savae", latent_dim=32, hidden=[512], epochs=30,
                   batch_size=32, kl_warmup=10, svi_steps=20, **_SVI), 10000, 500),
}

PAPER = {
    "source": "He et al. (2019), Table 2, Yahoo (LSTM decoder, 100k documents, nats per document; not short Yelp: "
              "absolute NLLs are not comparable, the pattern is), its rows for the LSTM language model, the VAE and "
              "SA-VAE (Kim et al. 2018), as quoted in ../shared/data/README.md",
    "rows": {"LSTM LM": {"NLL": 328.0, "KL": 0.0}, "VAE": {"NLL": 328.6, "KL": 0.0},
             "SA-VAE": {"NLL": 327.2, "KL": 5.2}},
}


def savae_config(profile: str, mode: str, seed: int = 0) -> TrainConfig:
    """The config of one mode row (or the language model for mode 'lm') at `profile`, with `seed`."""
    check_profile(profile)
    base = nb05_text(True) if profile == "quick" else TrainConfig(**SIZES[profile][0])
    if mode == LM:
        return base.variant(objective="lm", seed=seed)
    return base.variant(objective=mode, seed=seed)


def savae_table(profile: str = "quick", seeds: int = 3, device=None, progress=None, log=None, rows=MODES,
                ray=None) -> dict:
    """Train (or load) the language model and each mode for seeds 0..seeds-1; score each on the same test
    sentences with the same test-time refinement. A JSON-ready record like remedies_table's."""
    check_profile(profile)
    check_int("seeds", seeds, 1)
    dev = pick_device(device) if ray is None else ray.worker_device(device)    # ray: a cluster.RayOptions
    _, n_test, iw_samples = SIZES[profile]
    ref = savae_config(profile, "savae")
    test = fixed_test_subset(ref.dataset, n_test)
    svi = dict(steps=ref.svi_steps, lr=ref.svi_lr, momentum=ref.svi_momentum, clip=ref.svi_clip)
    def measure(row, model, history, seed):
        if row == LM:
            s = memo(score, LM, model, test.x, test.y, iw_samples, seed)
        else:
            s = memo(savae_report, model, test.x, init="prior" if row == "svi" else "encoder", iw_samples=iw_samples,
                     seed=seed, **svi)
        return {**s, "train_seconds_per_epoch": sum(history.column("seconds")) / max(len(history), 1)}

    t0 = time.perf_counter()
    per_seed, configs = collect(seeds, (LM,) + tuple(rows), lambda row, seed: savae_config(profile, row, seed),
                                measure, device=dev, progress=progress, log=log, ray=ray,
                                line=lambda s: f"nll {s['iw_nll']:8.3f}  kl {s['kl']:6.3f}  au {s['active_units']:2d}")
    return {"table": "savae", "profile": profile, "seeds": seeds, "device": str(dev), "dataset": ref.dataset,
            "n_test": len(test), "iw_samples": iw_samples, "svi": svi, "per_seed": per_seed,
            "summary": summarise(per_seed, baseline=LM), "configs": configs, "paper": PAPER, "machine": machine(),
            "seconds": time.perf_counter() - t0}


def savae_markdown(record: dict) -> str:
    svi = record["svi"]
    head = (f"**savae**, profile `{record['profile']}`, {record['dataset']}, {record['seeds']} seed(s), "
            f"{record['n_test']} test sentences, S = {record['iw_samples']} importance samples; test-time refinement {svi['steps']} "
            f"SVI steps (lr {svi['lr']:g} per example, momentum {svi['momentum']:g}, clip {svi['clip']}); "
            "mean ± SE across seeds")
    cols = ["row", "NLL", "NLL − LM (paired)", "ELBO before", "ELBO after K steps", "KL", "MI", "active units",
            "s / epoch"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row, m in record["summary"].items():
        cells = [row, pm(m["iw_nll"]), pm(m["nll_minus_lm"]) if "nll_minus_lm" in m else "0 (itself)",
                 pm(m["elbo_0"]) if "elbo_0" in m else "—", pm(m["elbo_K"]) if "elbo_K" in m else "—",
                 pm(m["kl"]), pm(m["mi"]), pm(m["active_units"], 1), pm(m["train_seconds_per_epoch"], 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + footer(record))


assert set(MODES) <= set(SAVAE_MODES) | {"elbo"}
