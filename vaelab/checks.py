"""Argument validation shared by every layer (errors that name the argument, the value and what is accepted), and
the self-check helpers of the notebooks' exercises (a student version runs to its end on reference values)."""
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


# --- self-check helpers of the notebooks' exercises (the student versions in notebooks/exercises/) -------------

def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def yours_or_reference(fn, reference, *args, **kwargs):
    """fn(*args, **kwargs), the student's exercise function; the reference's answer while fn is an unfilled stub.

    A stub raises NotImplementedError. Then this prints one line saying so, once per definition of fn, and returns
    reference(*args, **kwargs), so that every later cell of the notebook runs on the reference's values. Any other
    error in the student's code propagates: it is theirs to fix. fn is marked (fn.uses_reference) so that
    `passed` can tell a self-check of the student's answer from one of the reference's."""
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        if not getattr(fn, "uses_reference", False):
            print(f"your `{_name(fn)}` is not written yet: the cells below use the reference "
                  f"`{getattr(reference, '__module__', None) or 'vaelab'}.{_name(reference)}`")
        _mark(fn, True)
        return reference(*args, **kwargs)
    _mark(fn, False)
    return out


def _mark(fn, value: bool) -> None:
    try:
        fn.uses_reference = value
    except AttributeError:            # a builtin or a bound method: nothing to remember
        pass


def passed(fn, message: str) -> None:
    """Print `message` (a self-check passed) when fn's own code ran; otherwise say the check ran on the reference.

    Call it at the end of a self-check cell, after its asserts. Returns None, so a notebook shows only the line."""
    if getattr(fn, "uses_reference", False):
        print(f"not checked yet: `{_name(fn)}` is still the stub, so the cell above checked the reference instead. "
              "Write your code in its cell, then run that cell and this one again.")
    else:
        print(message)


OUTCOMES = ("higher", "lower", "about the same")


def direction(diff: float, se: float, *, negligible: float = 0.0, labels=OUTCOMES) -> str:
    """The measured direction of a difference a - b with standard error se: labels[0] ('higher') when it exceeds
    3 standard errors and `negligible` (a size too small to matter, in the difference's units), labels[1]
    ('lower') for the mirror case, labels[2] ('about the same') otherwise."""
    se, negligible, diff = check_float("se", float(se)), check_float("negligible", float(negligible)), float(diff)
    if not math.isfinite(diff):
        raise ValueError(f"diff must be a finite number, got {diff!r}")
    bound = max(3 * se, negligible)
    return labels[0] if diff > bound else labels[1] if diff < -bound else labels[2]


def check_prediction(guess, outcome: str, explain: dict, choices=OUTCOMES) -> None:
    """Compare a student's written guess with the measured outcome and print what to look at (explain maps each
    outcome to that text). Never raises on the guess: an empty or unknown one is answered with the outcome."""
    choices = list(choices)
    if outcome not in choices:
        raise ValueError(f"outcome={outcome!r} is not one of the accepted choices: {', '.join(map(repr, choices))}")
    why = explain.get(outcome, "")
    said = (guess or "").strip().lower() if isinstance(guess, str) else guess
    if said in (None, ""):
        print(f"You did not write a guess (try it before you look next time). Measured: {outcome}. {why}")
    elif said not in choices:
        print(f"Your guess {guess!r} is not one of {', '.join(map(repr, choices))}. Measured: {outcome}. {why}")
    elif said == outcome:
        print(f"Your guess '{said}' matches the measurement. {why}")
    else:
        print(f"You guessed '{said}'; the measurement says '{outcome}'. {why}")
