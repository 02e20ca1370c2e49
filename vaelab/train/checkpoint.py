"""Checkpoints: written atomically, loaded with weights_only=True, carrying config and vaelab version."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from .._version import __version__
from ..models.vae import model_from_config

FORMAT = 1


def atomic_write_bytes(path: Path, write) -> None:
    """Call write(file_object) on a temp file beside `path`, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path, model, *, train_config: dict | None = None, history=None) -> Path:
    """Save weights, the model's build config, the training config and history (lists of plain dicts)."""
    payload = {
        "format": FORMAT,
        "vaelab_version": __version__,
        "model_config": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": dict(train_config or {}),
        "history": [dict(r) for r in (history or [])],
    }
    path = Path(path)
    atomic_write_bytes(path, lambda f: torch.save(payload, f))
    return path


def load_checkpoint(path, device=None):
    """(model in eval mode, payload dict). Raises ValueError on a file that is not a vaelab checkpoint."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model_config" not in payload:
        raise ValueError(f"{path} is not a vaelab checkpoint (format {FORMAT})")
    model = model_from_config(payload["model_config"])
    model.load_state_dict(payload["state_dict"])
    if device is not None:
        model.to(device)
    return model.eval(), payload


def write_json(path, obj) -> None:
    atomic_write_bytes(Path(path), lambda f: f.write(json.dumps(obj, indent=2).encode()))
