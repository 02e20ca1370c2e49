"""`vaelab table inference`: amortized against encoder-free inference on a collapse-prone LSTM text VAE (notebook 07
section 2; Pang et al. 2021, "Generative text modeling through short run inference").

Rows: 'lm' (the decoder alone, exact NLL), 'elbo' (the VAE), 'savae' (Kim et al. 2018) and 'sri' (short-run
inference: no encoder, the decoder trained on 20-step Langevin posterior samples). The VAE and SA-VAE rows are table
savae's models (same configs, so the same checkpoints); 'sri' is the same decoder and data with objective 'sri'.
Every model is scored from the best posterior it has (vaelab.metrics.inference_compare):
- elbo, savae: q_K, the encoder's q refined by the config's K SVI steps: -log p(x) by importance sampling, KL, MI,
  active units and a linear probe of the sentiment on q_K's means;
- sri: E[z|x] from MALA chains: -log p(x) by importance sampling from a Gaussian fitted to the chains (a valid
  stochastic lower bound on log p(x)), active units and the probe on the chains' means; no KL or MI (no q(z|x)).
The paper's claim to test: SRI shows "no sign of posterior collapse" and models the text at least as well as the VAE
and the language model.
"""
from __future__ import annotations

import time

import torch

from ..checks import check_int
from ..metrics.inference_compare import amortized_row, encoder_free_row
from ..runtime import pick_device
from ..train.result_cache import memo
from .table_remedies import LM, score
from .table_savae import PAPER as SAVAE_PAPER, SIZES, savae_config
from .table_stats import check_profile, collect, fixed_test_subset, footer, machine, pm, summarise

ROWS = ("elbo", "savae", "sri")
# MALA chains that choose the SRI row's importance-sampling proposal and give its E[z|x]: profile -> (chains, steps)
CHAINS = {"quick": (4, 60), "lecture": (4, 100), "paper": (8, 200)}

# for orientation only the figures quoted in ../shared/data/README.md (He et al. 2019, as table savae shows them); the
# SRI paper's own numbers are on its own corpora and splits and are not quoted there, so none is shown for 'sri'
PAPER = {"source": SAVAE_PAPER["source"] + "; Pang et al. (2021) report SRI on their own corpora (check the paper)",
         "rows": SAVAE_PAPER["rows"]}


def inference_config(profile: str, row: str, seed: int = 0):
    """The config of one row ('lm', 'elbo', 'savae' or 'sri') at `profile`: table savae's configs, and for 'sri' the
    same model and data with objective 'sri' (its Langevin defaults: 20 steps, 0.8 -> 0.05, T = 0.2)."""
    if row == "sri":
        return savae_config(profile, "elbo", seed).variant(objective="sri")
    return savae_config(profile, row, seed)


def _labels(y: torch.Tensor) -> torch.Tensor:
    return y if y.dim() == 1 else y[:, 1]           # synthetic text: column 1 is the sentiment


def measure_row(row: str, model, x: torch.Tensor, y: torch.Tensor, *, svi: dict, chains: tuple[int, int],
                iw_samples: int, seed: int) -> dict:
    """One model's numbers (see the module docstring); a pure function of its arguments, so vaelab.memo caches it."""
    if row == LM:
        return score(LM, model, x, y, iw_samples, seed)
    if row == "sri":
        out = encoder_free_row(model, x, _labels(y), iw_samples=iw_samples, chains=chains[0], steps=chains[1],
                               seed=seed)
        return {k: v for k, v in out.items() if k not in ("kl", "kl_se", "mi", "mi_se")}   # undefined without q
    return amortized_row(model, x, _labels(y), iw_samples=iw_samples, seed=seed, **svi)


def inference_table(profile: str = "quick", seeds: int = 3, device=None, progress=None, log=None, rows=ROWS,
                    ray=None) -> dict:
    """Train (or load) the language model and each row for seeds 0..seeds-1, and score each on the same test
    sentences. A JSON-ready record like savae_table's; ray: a vaelab.cluster.RayOptions (each model a Ray task)."""
    check_profile(profile)
    check_int("seeds", seeds, 1)
    dev = pick_device(device) if ray is None else ray.worker_device(device)
    _, n_test, iw_samples = SIZES[profile]
    ref = savae_config(profile, "savae")
    test = fixed_test_subset(ref.dataset, n_test, vocab_size=ref.vocab_size)
    svi = dict(steps=ref.svi_steps, lr=ref.svi_lr, momentum=ref.svi_momentum, clip=ref.svi_clip)
    chains = CHAINS[profile]

    def measure(row, model, history, seed):
        s = memo(measure_row, row, model, test.x, test.y, svi=svi, chains=chains, iw_samples=iw_samples, seed=seed)
        return {**s, "train_seconds_per_epoch": sum(history.column("seconds")) / max(len(history), 1)}

    t0 = time.perf_counter()
    per_seed, configs = collect(seeds, (LM,) + tuple(rows), lambda row, seed: inference_config(profile, row, seed),
                                measure, device=dev, progress=progress, log=log, ray=ray,
                                line=lambda s: f"nll {s['iw_nll']:8.3f}  au {s['active_units']:2d}  "
                                               f"probe {s.get('probe_acc', float('nan')):.3f}")
    return {"table": "inference", "profile": profile, "seeds": seeds, "device": str(dev), "dataset": ref.dataset,
            "n_test": len(test), "iw_samples": iw_samples, "svi": svi, "chains": list(chains), "per_seed": per_seed,
            "summary": summarise(per_seed, baseline=LM), "configs": configs, "paper": PAPER, "machine": machine(),
            "seconds": time.perf_counter() - t0}


def inference_markdown(record: dict) -> str:
    svi, (n_chains, steps) = record["svi"], record["chains"]
    head = (f"**inference**, profile `{record['profile']}`, {record['dataset']}, {record['seeds']} seed(s), "
            f"{record['n_test']} test sentences, S = {record['iw_samples']} importance samples; VAE and SA-VAE scored "
            f"from q_K ({svi['steps']} SVI steps), SRI from {n_chains} MALA chains × {steps} steps per sentence; "
            "mean ± SE across seeds")
    cols = ["row", "NLL", "NLL − LM (paired)", "KL", "MI", "active units", "probe acc", "chance", "s / epoch"]
    lines = [head, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row, m in record["summary"].items():
        def cell(key, digits=2):
            return pm(m[key], digits) if key in m else "—"
        cells = [row, cell("iw_nll"), cell("nll_minus_lm") if row != LM else "0 (itself)", cell("kl"), cell("mi"),
                 cell("active_units", 1), cell("probe_acc", 3), cell("probe_chance", 3),
                 cell("train_seconds_per_epoch", 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + footer(record))
