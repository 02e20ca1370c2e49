"""Checkpoints: written atomically, loaded with weights_only=True, carrying config, vaelab version and a content hash.

The content hash (payload['content_sha256']) covers every tensor's bytes and every other field, so a flipped
byte that torch.load does not notice still fails load_checkpoint. Files written before the hash existed (the
shipped zoo files, verified by their own sha256) load without it.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from pathlib import Path

import torch

from .._version import __version__
from ..files import atomic_write_bytes
from ..models.vae import model_from_config

FORMAT = 1
HASH_KEY = "content_sha256"

__all__ = ["CheckpointError", "atomic_write_bytes", "content_sha256", "load_checkpoint", "save_checkpoint",
           "write_json"]


class CheckpointError(ValueError):
    """A file that is not a readable, intact vaelab checkpoint; the message names the file."""


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().reshape(-1).contiguous().cpu()
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def content_sha256(payload: dict) -> str:
    """SHA-256 of a checkpoint payload: each tensor's name, dtype, shape and bytes, then the other fields as JSON."""
    h = hashlib.sha256()
    for name in sorted(payload["state_dict"]):
        t = payload["state_dict"][name]
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(_tensor_bytes(t))
    rest = {k: v for k, v in payload.items() if k not in ("state_dict", HASH_KEY)}
    h.update(json.dumps(rest, sort_keys=True, default=repr).encode())
    return h.hexdigest()


def save_checkpoint(path, model, *, train_config: dict | None = None, history=None, interrupted: bool = False,
                    stop_reason: str | None = None) -> Path:
    """Save weights, the model's build config, the training config and history (lists of plain dicts).

    interrupted=True marks a partial training (Ctrl-C, a non-finite loss: stop_reason says which); such a file is
    never served by load_or_train."""
    payload = {
        "format": FORMAT,
        "vaelab_version": __version__,
        "model_config": model.config,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": dict(train_config or {}),
        "history": [dict(r) for r in (history or [])],
        "interrupted": bool(interrupted),
    }
    if stop_reason is not None:
        payload["stop_reason"] = str(stop_reason)
    payload[HASH_KEY] = content_sha256(payload)
    path = Path(path)
    atomic_write_bytes(path, lambda f: torch.save(payload, f))
    return path


def _read(path: Path) -> dict:
    """torch.load(weights_only=True), with its failures turned into a CheckpointError that names the file."""
    with open(path, "rb") as f:                # a missing, unreadable or directory path fails here, by name
        try:
            return torch.load(f, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            # torch's own text suggests loading with weights_only off, i.e. running code from the file: never that
            raise CheckpointError(f"{path} holds Python objects other than tensors and plain data, so vaelab will "
                                  "not load it: it is not a vaelab checkpoint, or it is corrupt. Delete it and "
                                  "train again (`python -m vaelab train --out DIR`)") from err
        except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, UnicodeDecodeError, ValueError, KeyError,
                IndexError, TypeError, AttributeError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CheckpointError(f"{path} is not a readable vaelab checkpoint (corrupt or truncated: {reason}). "
                                  "Delete it and train again (`python -m vaelab train --out DIR`)") from err


def load_checkpoint(path, device=None):
    """(model in eval mode, payload dict). Raises CheckpointError (a ValueError) naming the file when it is not an
    intact vaelab checkpoint (unreadable, wrong format, or its content hash does not match)."""
    path = Path(path)
    payload = _read(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model_config" not in payload:
        raise CheckpointError(f"{path} is not a vaelab checkpoint (format {FORMAT}); train one with "
                              "`python -m vaelab train --out DIR`")
    if HASH_KEY in payload and content_sha256(payload) != payload[HASH_KEY]:
        raise CheckpointError(f"{path} failed its integrity check (its contents do not match the sha256 recorded "
                              "when it was written): the file is corrupt. Delete it and train again")
    try:
        model = model_from_config(payload["model_config"])
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, ValueError, TypeError, KeyError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path}: its weights do not fit the model it describes ({reason}); the file is "
                              "corrupt or from an incompatible vaelab version. Delete it and train again") from err
    if device is not None:
        model.to(device)
    return model.eval(), payload


def write_json(path, obj) -> None:
    atomic_write_bytes(Path(path), lambda f: f.write(json.dumps(obj, indent=2).encode()))
