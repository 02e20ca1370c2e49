"""memo(): compute a result once, then load it from $VAELAB_CACHE/results in milliseconds.

load_or_train caches a trained model under its config; memo caches what a notebook *computes* from models, e.g.

    gaps = vaelab.memo(metrics.inference_gaps, model, x_test, iw_samples=500, steps=200, seed=0)

The key is a SHA-256 of everything the result can depend on:
- the function (module and name);
- every argument: a tensor or a module by its exact contents (a module by its class, its printed architecture,
  and every parameter and buffer), numbers, strings, None, devices, dtypes, and lists/tuples/dicts of these;
- the source of the whole vaelab package and the torch version.
So retraining a model, changing an argument or editing any vaelab code gives a new key, never a stale result.
Only results made of tensors, numbers, strings, None and lists/tuples/dicts of these are cached: they are saved
atomically with a content hash and loaded with weights_only=True. A corrupt entry (unreadable, or failing its
hash) is recomputed with a warning. The function must be deterministic given its arguments (pass a seed): a
cached call does not touch the global random state.
Delete $VAELAB_CACHE/results to clear the cache.
"""
from __future__ import annotations

import functools
import hashlib
import pickle
import warnings
from pathlib import Path

import torch

from ..runtime import cache_dir
from .cache import CORRUPT
from .checkpoint import atomic_write_bytes

_ATOMS = (int, float, str, bool, type(None))
_PACKAGE = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of every vaelab source file (path and bytes) and the torch version; computed once per process."""
    h = hashlib.sha256(torch.__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(_PACKAGE)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().reshape(-1).contiguous().cpu()
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def _feed(h, value, where: str) -> None:
    """Hash `value` into h; `where` names the argument in the error for a value that cannot be fingerprinted."""
    if isinstance(value, torch.Tensor):
        h.update(f"tensor{tuple(value.shape)}{value.dtype}{value.device.type}".encode())
        h.update(_tensor_bytes(value))
    elif isinstance(value, torch.nn.Module):
        h.update(f"module {type(value).__module__}.{type(value).__qualname__}\n{value!r}".encode())
        for name, t in value.state_dict().items():
            h.update(name.encode())
            _feed(h, t, f"{where}.{name}")
    elif isinstance(value, _ATOMS) or isinstance(value, (torch.device, torch.dtype)):
        h.update(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}]".encode())
        for i, v in enumerate(value):
            _feed(h, v, f"{where}[{i}]")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}]".encode())
        for k in sorted(value, key=repr):
            _feed(h, k, f"{where} key")
            _feed(h, value[k], f"{where}[{k!r}]")
    else:
        raise TypeError(f"memo cannot fingerprint {where} of type {type(value).__name__}; accepted: tensors, "
                        "modules, numbers, strings, None, devices, dtypes, and lists/tuples/dicts of these")


def _check_result(value, where: str = "result") -> None:
    if isinstance(value, (torch.Tensor, *_ATOMS)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_result(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_result(k, f"{where} key")
            _check_result(v, f"{where}[{k!r}]")
    else:
        raise TypeError(f"memo can cache only tensors, numbers, strings, None and lists/tuples/dicts of these; "
                        f"{where} is a {type(value).__name__}")


def memo_key(fn, args: tuple, kwargs: dict) -> str:
    """The cache key of fn(*args, **kwargs): a hex SHA-256 (see the module docstring for what goes in)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    h = hashlib.sha256(f"{fn.__module__}.{getattr(fn, '__qualname__', repr(fn))}\n{code_fingerprint()}".encode())
    for i, a in enumerate(args):
        _feed(h, a, f"positional argument {i}")
    for k in sorted(kwargs):
        h.update(k.encode())
        _feed(h, kwargs[k], f"argument {k!r}")
    return h.hexdigest()


def memo_path(fn, args: tuple, kwargs: dict, root=None) -> Path:
    root = Path(root) if root is not None else cache_dir()
    name = getattr(fn, "__qualname__", type(fn).__name__).replace("<", "").replace(">", "")
    return root / "results" / f"{name}-{memo_key(fn, args, kwargs)[:32]}.pt"


def _digest(result) -> str:
    h = hashlib.sha256()
    _feed(h, result, "result")
    return h.hexdigest()


def _load(path: Path):
    """The result stored at `path`; ValueError when it fails its content hash (a flipped byte torch.load misses)."""
    stored = torch.load(path, weights_only=True)
    if not isinstance(stored, dict) or stored.get("memo_format") != 1 or "result" not in stored:
        raise ValueError("not a vaelab memo entry")
    if _digest(stored["result"]) != stored.get("content_sha256"):
        raise ValueError("its contents do not match the sha256 recorded when it was written (integrity check)")
    return stored["result"]


def memo(fn, /, *args, **kwargs):
    """fn(*args, **kwargs), computed once and then loaded from $VAELAB_CACHE/results (see the module doc)."""
    path = memo_path(fn, args, kwargs)
    if path.exists():
        try:
            return _load(path)
        except CORRUPT as err:
            reason = "it holds Python objects other than tensors and plain data" \
                if isinstance(err, pickle.UnpicklingError) else f"{type(err).__name__}: {str(err).splitlines()[0]}"
            warnings.warn(f"cached result {path} is unreadable ({reason}); recomputing it", stacklevel=2)
    result = fn(*args, **kwargs)
    _check_result(result)
    stored = {"memo_format": 1, "content_sha256": _digest(result), "result": result}
    atomic_write_bytes(path, lambda f: torch.save(stored, f))
    return result
