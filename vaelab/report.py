"""environment_report(): what `python -m vaelab check` and notebook 00 show about this machine."""
from __future__ import annotations

import importlib.metadata as md
import platform


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _bf16_line(dev) -> str:
    from .runtime import bf16_support

    native, why = bf16_support(dev)
    return (f"native ({why}): --precision bf16 can be faster than fp32" if native else
            f"not native ({why}): keep fp32, bf16 would be emulated and slower")


def environment_report() -> dict:
    import torch

    from ._version import __version__
    from .data import available_datasets
    from .runtime import cache_dir, data_dir, is_quick, pick_device

    dev = pick_device()
    gpu = torch.cuda.get_device_name(0) if dev.type == "cuda" else None
    widgets_frontend = _version("jupyterlab_widgets")
    return {
        "vaelab": __version__,
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in
                     ("torch", "numpy", "scikit-learn", "matplotlib", "seaborn", "ipywidgets", "jupyterlab", "tqdm")},
        "device": str(dev) + (f" ({gpu})" if gpu else ""),
        "bf16": _bf16_line(dev),
        "quick_mode": is_quick(),
        "widget_frontend": (f"jupyterlab_widgets {widgets_frontend}" if widgets_frontend != "not installed"
                            else "missing: pip install jupyterlab_widgets (widgets would show as text)"),
        "data_dir": str(data_dir()),
        "cache_dir": str(cache_dir()),
        "datasets": available_datasets(),
    }
