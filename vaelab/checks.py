"""Argument validation shared by every layer: errors that name the argument, the value and what is accepted."""
from __future__ import annotations

import math
from typing import Iterable


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of the accepted choices: {', '.join(map(repr, choices))}")
    return value


def check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_float(name: str, value, minimum: float = 0.0, strict: bool = False, maximum: float | None = None) -> float:
    """A finite float in [minimum, maximum] (or (minimum, maximum] when strict)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    lo = "(" if strict else "["
    hi = f"{maximum}]" if maximum is not None else "inf)"
    bad = (not math.isfinite(value) or value < minimum or (strict and value == minimum)
           or (maximum is not None and value > maximum))
    if bad:
        raise ValueError(f"{name} must be in {lo}{minimum}, {hi}, got {value!r}")
    return value


def check_finite(name: str, tensor):
    """Refuse a floating-point tensor holding NaN or ±Inf: a metric of it would be NaN, silently.

    One pass and one host read when the tensor is finite; integer tensors (token ids) are finite by type.
    Returns the tensor. Meant for the entry points of metrics, not for per-step training code (the host read
    would stall an accelerator every step)."""
    import torch

    if not torch.is_tensor(tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if not (tensor.is_floating_point() or tensor.is_complex()) or bool(torch.isfinite(tensor).all()):
        return tensor
    bad = ~torch.isfinite(tensor.detach())
    count = int(bad.sum())
    first = tuple(int(i) for i in bad.nonzero()[0])
    value = tensor.detach()[first].item()
    raise ValueError(f"{name} has {count} non-finite entr{'y' if count == 1 else 'ies'} (NaN or Inf) among "
                     f"{tensor.numel()} (shape {tuple(tensor.shape)}), the first at index {first}: {value}; "
                     "accepted: finite values only. Drop or fix those entries "
                     "(~torch.isfinite(t) marks them).")
