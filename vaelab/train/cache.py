"""load_or_train(): train once per config, then load from $VAELAB_CACHE in seconds."""
from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

from ..runtime import cache_dir, pick_device
from .checkpoint import load_checkpoint, save_checkpoint
from .experiment import TrainConfig, train
from .loop import History

CORRUPT = (RuntimeError, EOFError, ValueError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile, OSError)


def cache_path(cfg: TrainConfig, root=None) -> Path:
    root = Path(root) if root is not None else cache_dir()
    return root / f"{cfg.dataset}-{cfg.model}-{cfg.objective}-{cfg.key()}" / "checkpoint.pt"


def load_or_train(cfg: TrainConfig | dict, device=None, progress=None, root=None):
    """(model, history) for `cfg`: from the cache when present and readable, else trained and cached.

    A corrupt or unreadable entry is rebuilt with a warning, never fatal.
    """
    if isinstance(cfg, dict):
        cfg = TrainConfig.from_dict(cfg)
    dev = pick_device(device)
    path = cache_path(cfg, root)
    if path.exists():
        try:
            model, payload = load_checkpoint(path, device=dev)
            history = History(payload["history"])
            return model, history
        except CORRUPT as err:
            warnings.warn(f"cache entry {path} is unreadable ({type(err).__name__}: {err}); retraining it", stacklevel=2)
    model, history = train(cfg, device=dev, progress=progress)
    save_checkpoint(path, model, train_config=cfg.to_dict(), history=history)
    return model, history
