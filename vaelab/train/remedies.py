"""The posterior-collapse remedies as TrainConfig edits, trained once (load_or_train) and compared in one table.

Remedies (names in vaelab.objectives.collapse.REMEDIES):
  none          plain ELBO
  kl_warmup     KL weight 0 -> 1 linearly over the first half of training (Bowman et al. 2016)
  cyclical      3 cycles of 0 -> 1 ramps (Fu et al. 2019)
  beta          β = 0.3 < 1 on the KL (the 'beta' objective)
  freebits      per-dimension KL floor λ = 0.25 nats (Kingma et al. 2016)
  word_dropout  50% of the LSTM decoder's input tokens replaced by <unk> (Bowman et al. 2016; text only)
  aggressive    encoder-first training (He et al. 2019), with the warm-up as in their text runs
"""
from __future__ import annotations


import torch

from ..checks import check_choice, check_int
from ..metrics.evaluate import evaluate
from ..metrics.latent import encode_all, probe_stats
from ..objectives.collapse import REMEDIES
from .cache import load_or_train
from .experiment import TrainConfig, config_split


def remedy_config(base: TrainConfig, remedy: str, **overrides) -> TrainConfig:
    """`base` (a plain-ELBO config) with one remedy switched on; overrides tune it (e.g. free_bits=0.5)."""
    check_choice("remedy", remedy, REMEDIES)
    half = max(base.epochs / 2, 1.0)
    edits = {"none": {}, "kl_warmup": {"kl_warmup": half}, "cyclical": {"kl_cycles": 3},
             "beta": {"objective": "beta", "beta": 0.3}, "freebits": {"objective": "freebits", "free_bits": 0.25},
             "word_dropout": {"word_dropout": 0.5}, "aggressive": {"objective": "aggressive", "kl_warmup": half}}
    if remedy == "word_dropout" and base.model != "lstm":
        raise ValueError(f"remedy 'word_dropout' needs model='lstm' (a text decoder), got model={base.model!r}")
    return base.variant(**{**edits[remedy], **overrides})


def train_remedies(base: TrainConfig, remedies=REMEDIES, device=None, progress=None, **variants) -> dict:
    """{(remedy, variant): (model, history)} for every remedy, trained once per config and cached.

    variants: name -> dict of TrainConfig edits giving the decoder-strength settings to cross with the
    remedies, e.g. strong={}, weak={'model': 'mlp'}. Default: one variant named 'default' (the base)."""
    variants = variants or {"default": {}}
    runs = {}
    for vname, edits in variants.items():
        for remedy in remedies:
            cfg = remedy_config(base.variant(**edits), remedy)
            runs[(remedy, vname)] = load_or_train(cfg, device=device, progress=progress)
    return runs


@torch.inference_mode()
def remedy_row(model, test, iw_samples: int = 50, label: int = 0, seed: int = 0) -> dict:
    """iw_nll, kl, mi, active_units (+ ppl for text) on `test`, and the accuracy of a linear probe that
    reads the true label (column `label` for multi-label text) from one sample z ~ q(z|x), trained on
    the first half of `test` and scored on the second. From a sample, not the mean: a collapsed encoder
    still has tiny mean differences that a standardising probe would blow up."""
    check_int("iw_samples", iw_samples, 1)
    result = evaluate(model, test, iw_samples=iw_samples, batch_size=250, seed=seed)
    keys = ("iw_nll", "iw_nll_se", "elbo", "elbo_se", "kl", "kl_se", "mi", "mi_se", "mi_ceiling", "active_units", "ppl")
    row = {k: result[k] for k in keys if k in result}
    mu, logvar = encode_all(model, test.x.to(model.device))
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed)).to(mu)
    y = test.y if test.y.dim() == 1 else test.y[:, label]
    row.update(probe_stats(z, y, seed))
    return row


def remedy_table(runs: dict, test, iw_samples: int = 50, **kw) -> list[dict]:
    """One remedy_row per run of train_remedies, with its remedy and variant names (pandas-ready dicts)."""
    return [{"remedy": remedy, "variant": variant, **remedy_row(model, test, iw_samples, **kw)}
            for (remedy, variant), (model, _) in runs.items()]


def eval_split(cfg: TrainConfig, n: int | None = None):
    """The test split of cfg's dataset (binarized like training), optionally its first n examples."""
    ds = config_split(cfg, "test")
    if n is not None and n < len(ds):
        from ..data import Dataset

        ds = Dataset(ds.x[:n], None if ds.y is None else ds.y[:n], dict(ds.meta))
    return ds
