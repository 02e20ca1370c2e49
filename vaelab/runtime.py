"""Where things run and live: the profile (quick, lecture, full), device choice, seeds, data and cache directories."""
from __future__ import annotations

import os
import random
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

_FALSE = {"", "0", "false", "no", "off"}


PROFILES = ("quick", "lecture", "full")


def profile() -> str:
    """How big the notebooks' models and data are:

    - 'quick': small models on offline data (8x8 digits, synthetic text), shipped with vaelab; VAELAB_QUICK=1,
      or any CI (the CI variable set to a true value), or VAELAB_PROFILE=quick;
    - 'lecture' (VAELAB_PROFILE=lecture): the quick models, plus real-data results (short Yelp, binarized MNIST)
      over 3 seeds from checkpoints that ship with vaelab (vaelab.zoo.lecture); needs the data downloaded once;
    - 'full': every model at full size, trained on first use; VAELAB_QUICK=0, or no setting outside CI.
    VAELAB_PROFILE wins over CI; it must agree with VAELAB_QUICK when both are set."""
    chosen = os.environ.get("VAELAB_PROFILE", "").strip().lower()
    quick = os.environ.get("VAELAB_QUICK", "").strip().lower()
    if chosen:
        if chosen not in PROFILES:
            raise ValueError(f"VAELAB_PROFILE={chosen!r} is not a profile; use one of {', '.join(PROFILES)}")
        if quick and (quick not in _FALSE) != (chosen == "quick"):
            raise ValueError(f"VAELAB_PROFILE={chosen!r} and VAELAB_QUICK={quick!r} disagree: unset VAELAB_QUICK "
                             "(VAELAB_PROFILE alone chooses the profile)")
        return chosen
    if quick:
        return "quick" if quick not in _FALSE else "full"
    return "full" if os.environ.get("CI", "").strip().lower() in _FALSE else "quick"


def is_quick() -> bool:
    """The small offline models: True in the quick and the lecture profile (which adds its real-data results on
    top of the quick models, never full-size ones), False in the full profile."""
    return profile() != "full"


def quick_or_full(quick, full):
    """The quick-mode value when quick mode is on, else the full value."""
    return quick if is_quick() else full


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """cuda, then mps, then cpu for None/"auto"; an explicit choice is checked, never silently replaced."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device={device!r} was asked for but MPS is not available here; use 'auto' or 'cpu'")
    return dev


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """root, else $VAELAB_DATA_DIR, else the checkout's data/ folder (user data dir when installed elsewhere)."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("VAELAB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists():
        return checkout / "data"
    from platformdirs import user_data_dir
    return Path(user_data_dir("vaelab"))


def cache_dir() -> Path:
    """$VAELAB_CACHE, else the user cache dir: where load_or_train keeps trained models."""
    env = os.environ.get("VAELAB_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir
    return Path(user_cache_dir("vaelab"))


def dir_problem(path: str | os.PathLike) -> str | None:
    """Why files cannot be written into folder `path` (creating it if needed), or None when they can.

    Checks without writing: `path` is a folder, or its nearest existing parent is one, and it is writable
    (os.access). A string such as "/a/b is a regular file, so no folder can be made under it"."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        return f"{path} is a regular file, not a folder"
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():
        return f"{existing} is a regular file, so no folder can be made under it"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable (permission denied)"
    return None


PRECISIONS = ("fp32", "tf32", "bf16")


@contextmanager
def precision(name: str, device: str | torch.device = "cpu"):
    """Arithmetic inside the block: 'fp32' (as written), 'tf32' (float32 matmuls may use TF32 / bf16x3 where the
    hardware has them) or 'bf16' (autocast to bfloat16 on `device`'s type). For evaluation, not for training."""
    if name not in PRECISIONS:
        raise ValueError(f"precision={name!r} is not one of {PRECISIONS}")
    if name == "bf16":
        native, why = bf16_support(device)
        if not native:
            warnings.warn(f"precision='bf16' on {torch.device(device)}, which has no native bf16 ({why}): it is "
                          "emulated and usually slower than fp32 here; use precision='fp32' (see `vaelab check`)",
                          RuntimeWarning, stacklevel=3)
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
            yield
    elif name == "tf32":
        before = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("high")
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(before)
    else:
        yield


# CPU feature flags (Linux /proc/cpuinfo names) that give bf16 arithmetic in hardware: dot products on AVX-512
# (Intel Cooper Lake+, AMD Zen 4+) and the AMX tiles (Intel Sapphire Rapids+). Without them bf16 is converted to
# fp32 and back around every operation: slower than fp32.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def _cpu_flags() -> set[str] | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def bf16_from_cpu_flags(flags) -> tuple[bool, str]:
    have = [f for f in BF16_CPU_FLAGS if f in set(flags)]
    return (True, "CPU flags " + ", ".join(have)) if have else \
        (False, "the CPU lacks " + " and ".join(BF16_CPU_FLAGS))


def bf16_from_capability(major: int, minor: int) -> tuple[bool, str]:
    native = major >= 8                                   # Ampere (8.0) and later: bf16 tensor cores
    return native, f"compute capability {major}.{minor} ({'>=' if native else '<'} 8.0)"


def bf16_support(device: str | torch.device = "cpu") -> tuple[bool, str]:
    """(native, why): whether `device` does bf16 arithmetic in hardware, so that precision='bf16' can be faster
    than fp32. cpu: the flags avx512_bf16 or amx_bf16 (Linux /proc/cpuinfo; elsewhere torch's own probe);
    cuda: compute capability >= 8.0; other devices: not claimed."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return bf16_from_capability(*torch.cuda.get_device_capability(dev))
    if dev.type == "cpu":
        flags = _cpu_flags()
        if flags is not None:
            return bf16_from_cpu_flags(flags)
        probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
        if probe is not None and probe():
            return True, "torch reports avx512_bf16"
        return False, "no bf16 CPU feature found"
    return False, f"native bf16 on {dev.type} is not known to vaelab"
