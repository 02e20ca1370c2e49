"""fit(): the one training loop for every objective.

Data sits on the device as one tensor and batches are index slices (no DataLoader, no workers).
Per-epoch statistics are summed on the device and read once per epoch.
The NaN guard needs no host sync per step either: a non-finite loss sets a flag on the device, fused Adam skips
every update while the flag is set (its `found_inf` input, the one torch.amp.GradScaler uses), and the flag is
read once per epoch. So the weights stay those from before the first bad step, as if training had stopped there.
"""
from __future__ import annotations

import os
import time
import warnings

import torch

from ..checks import check_float, check_int
from ..data.dataset import Dataset
from ..metrics.collapse import collapse_message, is_collapsed, latent_usage
from ..metrics.likelihood import elbo_parts
from ..models.vae import check_likelihood_data, check_model_data
from ..objectives.collapse import kl_schedule
from ..objectives.elbo import kl_warmup as warmup_weight
from ..runtime import pick_device, seed_everything
from .objectives import build_objective


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
        alpha: float = 0.0, lam: float = 1.0, kernel: str = "imq",
        valid: Dataset | None = None, progress: bool | None = None, on_epoch=None, free_bits: float = 0.0,
        kl_cycles: int = 0, diagnostics: bool = False, collapse_warning: bool = True, svi_steps: int = 10,
        svi_lr: float = 1.0, svi_momentum: float = 0.5, svi_clip: float | None = 5.0, hvp: str = "exact") -> History:
    """Train `model` on `data` (a Dataset or an (N, *shape) tensor) and return the per-epoch History.

    objective: 'elbo' | 'beta' | 'iwae' | 'infovae' (with alpha, lam, kernel), or a callable
    (model, x, kl_weight) -> (loss, stats).
    kl_warmup: epochs over which the KL weight rises linearly from 0 to 1 (0 = off; fractions allowed).
    valid: optional Dataset; adds valid_elbo (nats, mean) to each epoch.
    on_epoch: optional callable (model, epoch) -> dict merged into that epoch's row (diagnostics).
    Posterior-collapse options (vaelab.objectives.collapse, vaelab.train.aggressive):
    objective 'freebits' with free_bits = λ >= 0 nats per latent dimension; objective 'aggressive'
    (He et al. 2019: encoder-only inner loop before each decoder step, until MI stops rising);
    kl_cycles: M >= 1 cyclical KL schedule (Fu et al. 2019, ratio 0.5) instead of kl_warmup.
    diagnostics: add kl_per_dim, mi, active_units (and nll_per_token, ppl for text) to every epoch, measured
    on `valid` or else on a fixed subset of up to 1000 training examples.
    SA-VAE objectives 'svi' | 'vae+svi' | 'vae+svi+kl' | 'savae' (vaelab.inference.savae_modes): svi_steps,
    svi_lr, svi_momentum, svi_clip, hvp set the refinement ('svi' trains no encoder: no collapse warning).
    collapse_warning: at the end, warn "posterior collapse: KL < ..., active units 0" if the latent is unused.
    Stops with NonFiniteLossError at the end of the epoch with a NaN/Inf loss, naming its first such step: no
    update is applied from that step on, so the model keeps the last good weights. Ctrl-C returns the history
    so far with `.interrupted = True`.
    """
    check_int("epochs", epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_float("lr", lr, 0.0, strict=True)
    check_float("kl_warmup", kl_warmup, 0.0)
    check_int("kl_cycles", kl_cycles, 0)
    if isinstance(data, Dataset) and isinstance(getattr(model, "config", None), dict) and "name" in model.config:
        check_model_data(model.config["name"], data.meta.get("kind"))
    if free_bits and not callable(objective) and objective != "freebits":
        raise ValueError(f"free_bits={free_bits!r} needs objective='freebits', got objective={objective!r}")
    extra = {"free_bits": free_bits} if objective == "freebits" else {}
    loss_fn = objective if callable(objective) else build_objective(objective, beta=beta, iw_samples=iw_samples,
                                                                   alpha=alpha, lam=lam, kernel=kernel, **extra,
                                                                   svi_steps=svi_steps, svi_lr=svi_lr,
                                                                   svi_momentum=svi_momentum, svi_clip=svi_clip,
                                                                   hvp=hvp)
    dev = pick_device(device)
    x = (data.x if isinstance(data, Dataset) else data).to(dev)
    dynamic = isinstance(data, Dataset) and data.meta.get("binarize") == "dynamic"
    check_likelihood_data(getattr(model, "likelihood", "gaussian"), x, dynamic=dynamic)
    n = x.shape[0]
    if n == 0:
        raise ValueError("data is empty: fit needs at least one example")
    gen = seed_everything(seed)
    model.to(dev).train()
    # fused Adam: one kernel per step instead of a Python loop over parameters (CPU and CUDA, torch >= 2.4)
    fused = dev.type in ("cpu", "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=fused)
    steps_per_epoch = -(-n // batch_size)
    warmup_steps = round(kl_warmup * steps_per_epoch)
    kl_schedule(0, steps_per_epoch=steps_per_epoch, epochs=epochs, warmup=kl_warmup, cycles=kl_cycles)  # validates
    probe = valid.x.to(dev) if valid is not None else \
        x[torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:1000].to(dev)]
    aggressive = None
    if objective == "aggressive":
        from .aggressive import AggressiveEncoderTraining

        def draw():
            xb = x[torch.randint(n, (min(batch_size, n),), generator=gen).to(dev)]
            return torch.bernoulli(xb) if dynamic else xb

        aggressive = AggressiveEncoderTraining(model, loss_fn, lr, draw)
    history = History()
    bar = None
    if progress if progress is not None else _auto_progress():
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc="training", unit="epoch")
    # Without fused Adam (MPS), or with the aggressive encoder's own optimizer, the guard reads its flag every step.
    check_every_step = not fused or aggressive is not None
    step, last_loss = 0, None                          # last_loss: the previous epoch's last (a device scalar)
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen).to(dev)
            keys, acc, weight_sum = None, None, 0.0
            losses = torch.full((steps_per_epoch,), float("nan"), device=dev)   # this epoch's, for the message
            bad = torch.zeros((), device=dev)          # 1.0 from the first non-finite loss on
            epoch_start = step
            for j, i in enumerate(range(0, n, batch_size)):
                xb = x[perm[i:i + batch_size]]
                if dynamic:
                    xb = torch.bernoulli(xb)
                kl_weight = warmup_weight(step, warmup_steps) if not kl_cycles else \
                    kl_schedule(step, steps_per_epoch=steps_per_epoch, epochs=epochs, cycles=kl_cycles)
                if aggressive is not None and aggressive.active:
                    aggressive.encoder_steps(model, kl_weight)
                loss, stats = loss_fn(model, xb, kl_weight=kl_weight)
                losses[j] = loss.detach()
                bad = torch.maximum(bad, (~torch.isfinite(losses[j])).float())
                if check_every_step and bad:
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if aggressive is not None and aggressive.active:
                    aggressive.decoder_only()
                if fused:
                    opt.found_inf = bad                # the update is skipped on the device once bad is 1
                opt.step()
                w = xb.shape[0]
                # one stacked tensor per step keeps the bookkeeping to two small ops, read once per epoch
                if keys is None:
                    keys = list(stats)
                vals = torch.stack([stats[k].to(dev, torch.float32) for k in keys]) * w
                acc = vals if acc is None else acc + vals
                weight_sum += kl_weight * w
                step += 1
            if bad:                                    # the guard's one host sync per epoch
                first = int((~torch.isfinite(losses)).nonzero()[0])
                before = losses[first - 1] if first else last_loss
                model.eval()
                raise NonFiniteLossError(
                    f"loss became {float(losses[first])} at epoch {epoch}, step {epoch_start + first} "
                    f"(last finite loss: {'none yet' if before is None else round(float(before), 4)}). "
                    "The model keeps the weights from before that step. Try a smaller lr (now "
                    f"{lr}) or a KL warm-up.", history, epoch_start + first)
            last_loss = losses[-1]
            row = {"epoch": epoch, **dict(zip(keys, (acc / n).tolist())), "kl_weight": weight_sum / n}
            if valid is not None:
                model.eval()
                with torch.inference_mode():
                    parts = elbo_parts(model, valid.x.to(dev))
                row["valid_elbo"] = float(-(parts["rec"] + parts["kl"]).mean())
                model.train()
            if diagnostics or aggressive is not None:
                usage = latent_usage(model, probe)
                row.update({k: v for k, v in usage.items() if k != "kl"} if diagnostics else {"mi": usage["mi"]})
                if aggressive is not None:
                    row.update(aggressive.end_epoch(epoch, usage["mi"]))
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
    if collapse_warning and history and objective != "svi":
        usage = latent_usage(model, probe)
        if is_collapsed(usage):
            warnings.warn(collapse_message(usage), stacklevel=2)
    return history
