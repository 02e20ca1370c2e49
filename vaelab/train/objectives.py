"""Every objective name fit() and the CLI accept: the pure ones of vaelab.objectives and the SA-VAE
modes of vaelab.inference.savae_modes (which run a refinement, so they sit in the inference layer)."""
from __future__ import annotations

from ..inference.savae_modes import SAVAE_MODES, make_savae_objective
from ..objectives.registry import OBJECTIVES as PLAIN_OBJECTIVES
from ..objectives.registry import make_objective

OBJECTIVES = PLAIN_OBJECTIVES + SAVAE_MODES
SVI_DEFAULTS = {"svi_steps": 10, "svi_lr": 1.0, "svi_momentum": 0.5, "svi_clip": 5.0, "hvp": "exact"}


def build_objective(name: str, **options):
    """objective(model, x, kl_weight) -> (loss, stats) for any name in OBJECTIVES.

    options: those of vaelab.objectives.make_objective (beta, iw_samples, alpha, lam, kernel, free_bits)
    and, for the SA-VAE modes, svi_steps, svi_lr, svi_momentum, svi_clip, hvp (ignored by the others).
    """
    svi = {k: options.pop(k, v) for k, v in SVI_DEFAULTS.items()}
    if name in SAVAE_MODES:
        return make_savae_objective(name, **svi)
    return make_objective(name, **options)
