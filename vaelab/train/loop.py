"""fit(): the one training loop for every objective.

Data sits on the device as one tensor and batches are index slices (no DataLoader, no workers).
Per-epoch statistics are summed on the device and read once per epoch.
"""
from __future__ import annotations

import os
import time

import torch

from ..checks import check_float, check_int
from ..data.dataset import Dataset
from ..metrics.likelihood import elbo_parts
from ..objectives.elbo import kl_warmup as warmup_weight
from ..objectives.registry import make_objective
from ..runtime import pick_device, seed_everything


class NonFiniteLossError(FloatingPointError):
    """Training hit a NaN/Inf loss. `.history` holds the finished epochs; the model keeps its last good weights."""

    def __init__(self, message: str, history, step: int):
        super().__init__(message)
        self.history, self.step = history, step


class History(list):
    """One dict per epoch (loss, rec, kl, elbo, kl_weight, seconds, ...). `.interrupted` after Ctrl-C."""

    interrupted = False

    def column(self, key: str) -> list:
        return [row[key] for row in self if key in row]


def _auto_progress() -> bool:
    return "PYTEST_CURRENT_TEST" not in os.environ and os.environ.get("VAELAB_PROGRESS", "1") != "0"


def fit(model, data, objective="elbo", *, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
        seed: int = 0, device=None, beta: float = 1.0, iw_samples: int = 5, kl_warmup: float = 0.0,
        valid: Dataset | None = None, progress: bool | None = None, on_epoch=None) -> History:
    """Train `model` on `data` (a Dataset or an (N, *shape) tensor) and return the per-epoch History.

    objective: 'elbo' | 'beta' | 'iwae', or a callable (model, x, kl_weight) -> (loss, stats).
    kl_warmup: epochs over which the KL weight rises linearly from 0 to 1 (0 = off; fractions allowed).
    valid: optional Dataset; adds valid_elbo (nats, mean) to each epoch.
    on_epoch: optional callable (model, epoch) -> dict merged into that epoch's row (diagnostics).
    Stops with NonFiniteLossError on the first NaN/Inf loss, before that step's update: the model keeps
    the last good weights. Ctrl-C returns the history so far with `.interrupted = True`.
    """
    check_int("epochs", epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_float("lr", lr, 0.0, strict=True)
    check_float("kl_warmup", kl_warmup, 0.0)
    loss_fn = objective if callable(objective) else make_objective(objective, beta=beta, iw_samples=iw_samples)
    dev = pick_device(device)
    x = (data.x if isinstance(data, Dataset) else data).to(dev)
    dynamic = isinstance(data, Dataset) and data.meta.get("binarize") == "dynamic"
    n = x.shape[0]
    if n == 0:
        raise ValueError("data is empty: fit needs at least one example")
    gen = seed_everything(seed)
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-n // batch_size)
    warmup_steps = round(kl_warmup * steps_per_epoch)
    history = History()
    bar = None
    if progress if progress is not None else _auto_progress():
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc="training", unit="epoch")
    step, last_finite = 0, None
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen).to(dev)
            sums: dict[str, torch.Tensor] = {}
            for i in range(0, n, batch_size):
                xb = x[perm[i:i + batch_size]]
                if dynamic:
                    xb = torch.bernoulli(xb)
                loss, stats = loss_fn(model, xb, kl_weight=warmup_weight(step, warmup_steps))
                if not torch.isfinite(loss):
                    model.eval()
                    raise NonFiniteLossError(
                        f"loss became {float(loss.detach())} at epoch {epoch}, step {step} "
                        f"(last finite loss: {'none yet' if last_finite is None else round(float(last_finite), 4)}). "
                        "The model keeps the weights from before this step. Try a smaller lr (now "
                        f"{lr}) or a KL warm-up.", history, step)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                w = xb.shape[0]
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v.to(dev) * w
                step += 1
                last_finite = loss.detach()
            row = {"epoch": epoch, **{k: float(v) / n for k, v in sums.items()}}
            if valid is not None:
                model.eval()
                with torch.inference_mode():
                    parts = elbo_parts(model, valid.x.to(dev))
                row["valid_elbo"] = float(-(parts["rec"] + parts["kl"]).mean())
                model.train()
            if on_epoch is not None:
                model.eval()
                row.update(on_epoch(model, epoch))
                model.train()
            row["seconds"] = time.perf_counter() - t0
            history.append(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{row['loss']:.2f}", kl=f"{row['kl']:.2f}")
    except KeyboardInterrupt:
        history.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        model.eval()
    return history
