"""load_or_train(): train once per config, then load from $VAELAB_CACHE in seconds.

Only a complete training is cached under its config's key. Ctrl-C during training (History.interrupted) or a
non-finite loss (NonFiniteLossError) caches nothing: the first re-raises KeyboardInterrupt, so a notebook cell
stops; the second propagates. An entry that is unreadable, fails its content hash, or is marked interrupted is
retrained with a warning.
"""
from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

from ..runtime import cache_dir, pick_device
from .checkpoint import load_checkpoint, save_checkpoint
from .experiment import TrainConfig, train
from .loop import History

# what a damaged cache file can raise on load (load_checkpoint turns most into CheckpointError, a ValueError)
CORRUPT = (RuntimeError, EOFError, ValueError, KeyError, IndexError, pickle.UnpicklingError, zipfile.BadZipFile,
           OSError)


def cache_path(cfg: TrainConfig, root=None) -> Path:
    root = Path(root) if root is not None else cache_dir()
    return root / f"{cfg.dataset}-{cfg.model}-{cfg.objective}-{cfg.key()}" / "checkpoint.pt"


def _cached(path: Path, dev):
    """(model, history) from the entry at `path`, or None (with a warning) when it cannot be served."""
    try:
        model, payload = load_checkpoint(path, device=dev)
    except CORRUPT as err:
        warnings.warn(f"cache entry {path} is unreadable ({type(err).__name__}: {err}); retraining it", stacklevel=3)
        return None
    if payload.get("interrupted"):
        warnings.warn(f"cache entry {path} holds an interrupted training ({payload.get('stop_reason', 'Ctrl-C')}); "
                      "retraining it", stacklevel=3)
        return None
    return model, History(payload["history"])


def load_or_train(cfg: TrainConfig | dict, device=None, progress=None, root=None):
    """(model, history) for `cfg`: from the cache when present and intact, else trained and cached.

    A corrupt, unreadable or interrupted entry is rebuilt with a warning, never fatal. Ctrl-C while training
    caches nothing and raises KeyboardInterrupt (the message says how far it got); a NonFiniteLossError from
    training propagates, also caching nothing.
    """
    if isinstance(cfg, dict):
        cfg = TrainConfig.from_dict(cfg)
    dev = pick_device(device)
    path = cache_path(cfg, root)
    if path.exists():
        cached = _cached(path, dev)
        if cached is not None:
            return cached
    model, history = train(cfg, device=dev, progress=progress)
    if getattr(history, "interrupted", False):
        raise KeyboardInterrupt(f"training of {path.parent.name} was interrupted after {len(history)} of "
                                f"{cfg.epochs} epochs; nothing was cached (run it again to train it in full)")
    save_checkpoint(path, model, train_config=cfg.to_dict(), history=history)
    return model, history


def pretrain(cfgs, ray=None, device=None) -> None:
    """load_or_train every config into the cache as Ray tasks, one per config, when `ray` (a
    vaelab.cluster.RayOptions) is given; nothing when it is None. A sweep calls it first, so that its own loop
    then only loads (the same weights, so the same numbers as training them one after the other)."""
    if ray is None:
        return
    from ..cluster.ray_runner import run_trials

    run_trials(_train_task, [(TrainConfig.from_dict(c) if isinstance(c, dict) else c, ray.worker_device(device))
                             for c in cfgs], ray, desc="sweep trials")


def _train_task(cfg: TrainConfig, device) -> None:
    load_or_train(cfg, device=device, progress=False)
