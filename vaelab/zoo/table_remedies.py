"""`vaelab table remedies`: posterior collapse of an LSTM text VAE and its remedies, beside a language model.

Rows: 'lm', the same LSTM decoder trained alone (objective 'lm': z fixed at 0), whose -log p(x) is exact; then
one VAE per remedy (vaelab.train.remedies). Each is scored on the same test sentences: -log p(x) by importance
sampling, KL, MI, active units, perplexity, and a linear probe reading the sentiment label from one z ~ q(z|x).
Bowman et al. (2016) and He et al. (2019): the plain VAE collapses to the language model (KL ≈ 0).
"""
from __future__ import annotations

import time

import torch

from ..checks import check_int
from ..data import Dataset
from ..metrics.evaluate import decoder_only_report
from ..runtime import pick_device
from ..train.experiment import TrainConfig
from ..train.remedies import remedy_config, remedy_row
from ..train.result_cache import memo
from .catalog import nb02_text
from .table_stats import check_profile, collect, fixed_test_subset, footer, machine, pm, summarise

LM = "lm"
TEXT_REMEDIES = ("none", "kl_warmup", "cyclical", "beta", "freebits", "word_dropout")

# profile -> (base config of the text VAE (None: notebook 02's quick config), test sentences, importance samples)
SIZES = {
    "quick": (None, 1000, 50),
    # the 2000 most frequent words (95% of the training tokens): the models are a quarter of the size, so that
    # the lecture profile's checkpoints ship with vaelab (vaelab.zoo.lecture)
    "lecture": (dict(dataset="short_yelp", model="lstm", latent_dim=32, hidden=[128], epochs=20, batch_size=64,
                     vocab_size=2000), 2000, 50),
    "paper": (dict(dataset="short_yelp", model="lstm", latent_dim=32, hidden=[512], epochs=30, batch_size=32),
              10000, 500),
}

PAPER = {
    "source": "He et al. (2019), Table 2, on the longer Yelp review corpus (not short Yelp: absolute NLLs are not "
              "comparable, the pattern is); nats per review, as quoted in ../shared/data/README.md",
    "rows": {"LSTM LM": {"NLL": 358.1, "KL": 0.0}, "VAE": {"NLL": 357.9, "KL": 0.0},
             "SA-VAE": {"NLL": 355.9, "KL": 2.8}, "aggressive VAE": {"NLL": 355.9, "KL": 3.8}},
}


def text_base(profile: str, seed: int = 0) -> TrainConfig:
    """The plain-ELBO LSTM VAE config of `profile`, with `seed`."""
    if check_profile(profile) == "quick":        # exactly notebook 02's quick config: the zoo's checkpoints
        return nb02_text(True).variant(seed=seed)
    return TrainConfig(**SIZES[profile][0], seed=seed)


def remedy_configs(profile: str, seed: int = 0, remedies=TEXT_REMEDIES) -> dict:
    """{row name: TrainConfig} for one seed: the language model, then one VAE per remedy."""
    base = text_base(profile, seed)
    return {LM: base.variant(objective="lm"), **{r: remedy_config(base, r) for r in remedies}}


@torch.inference_mode()
def score(row: str, model, x: torch.Tensor, y: torch.Tensor, iw_samples: int, seed: int) -> dict:
    """One model's numbers on the test sentences x (token ids) with labels y: the exact NLL for the language model;
    for a VAE, vaelab.train.remedies.remedy_row (importance-sampled NLL, KL, MI, active units, and the probe
    reading the sentiment label from one z ~ q(z|x))."""
    x = x.to(model.device)
    ds = Dataset(x, y, {"kind": "text", "binarize": None})
    if row == LM:
        res = decoder_only_report(model, ds)
        return {"iw_nll": res["nll"], "iw_nll_se": res["nll_se"], "kl": 0.0, "mi": 0.0, "active_units": 0,
                "ppl": res["ppl"]}
    return remedy_row(model, ds, iw_samples, label=1, seed=seed)     # synthetic text: column 1 is the sentiment


def remedies_table(profile: str = "quick", seeds: int = 3, device=None, progress=None, log=None,
                   remedies=TEXT_REMEDIES, n_test: int | None = None, iw_samples: int | None = None, ray=None) -> dict:
    """Train (or load) the language model and one VAE per remedy for seeds 0..seeds-1, score each on the same
    test sentences. A JSON-ready record: per_seed values, summary (mean, se) across seeds with nll_minus_lm (the
    paired per-seed difference to the LM), the configs of seed 0, the paper's figures, machine and seconds.
    n_test, iw_samples: fewer test sentences or importance samples than the profile's (a notebook in class)."""
    check_profile(profile)
    check_int("seeds", seeds, 1)
    dev = pick_device(device) if ray is None else ray.worker_device(device)    # ray: a cluster.RayOptions
    _, n_default, k_default = SIZES[profile]
    n_test = n_default if n_test is None else check_int("n_test", n_test, 1)
    iw_samples = k_default if iw_samples is None else check_int("iw_samples", iw_samples, 1)
    base = text_base(profile)
    test = fixed_test_subset(base.dataset, n_test, vocab_size=base.vocab_size)
    t0 = time.perf_counter()
    per_seed, configs = collect(
        seeds, tuple(remedy_configs(profile, 0, remedies)), lambda row, seed: remedy_configs(profile, seed, remedies)[row],
        lambda row, model, history, seed: memo(score, row, model, test.x, test.y, iw_samples, seed),  # reruns load
        device=dev, progress=progress, log=log, ray=ray,
        line=lambda s: f"nll {s['iw_nll']:8.3f}  kl {s['kl']:6.3f}  au {s['active_units']:2d}  "
                       f"probe {s.get('probe_acc', float('nan')):.3f}")
    return {"table": "remedies", "profile": profile, "seeds": seeds, "device": str(dev),
            "dataset": configs[LM]["dataset"], "n_test": len(test), "iw_samples": iw_samples,
            "per_seed": per_seed, "summary": summarise(per_seed, baseline=LM), "configs": configs,
            "paper": PAPER, "machine": machine(), "seconds": time.perf_counter() - t0}


def remedies_markdown(record: dict) -> str:
    """The record as a markdown table (mean ± SE across seeds), the paper's rows and the machine below."""
    head = (f"**remedies**, profile `{record['profile']}`, {record['dataset']}, {record['seeds']} seed(s), "
            f"{record['n_test']} test sentences, S = {record['iw_samples']} importance samples; mean ± SE across seeds")
    cols = ["row", "NLL (nats/sentence)", "NLL − LM (paired)", "PPL", "KL", "MI", "active units", "probe acc",
            "chance"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row, m in record["summary"].items():
        cells = [row, pm(m["iw_nll"]), pm(m["nll_minus_lm"]) if "nll_minus_lm" in m else "0 (itself)",
                 pm(m["ppl"], 1), pm(m["kl"]), pm(m["mi"]), pm(m["active_units"], 1),
                 pm(m["probe_acc"], 3) if "probe_acc" in m else "—",
                 f"{m['probe_chance'][0]:.3f}" if "probe_chance" in m else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + footer(record))
