"""Every objective fit() and the CLI accept, as one table of ObjectiveKinds: the plain ones of
vaelab.objectives, the SA-VAE modes of vaelab.inference.savae_modes and short-run inference of
vaelab.inference.sri (which run a refinement or a sampler, so they sit in the inference layer).

    build_objective("savae", svi_steps=10, hvp="fd")    # an Objective: name, validated params, callable loss
"""
from __future__ import annotations

from ..checks import check_choice
from ..inference.savae_modes import KINDS as SAVAE_KINDS
from ..inference.sri import KIND as SRI_KIND
from ..objectives.objective import Objective
from ..objectives.registry import KINDS as PLAIN_KINDS

KINDS = {**PLAIN_KINDS, **SAVAE_KINDS, SRI_KIND.name: SRI_KIND}
OBJECTIVES = tuple(KINDS)
# every objective parameter any kind has, with its default: the TrainConfig fields that belong to objectives
PARAM_DEFAULTS = {k: p.default for kind in KINDS.values() for k, p in kind.params.items()}


def build_objective(name: str, **params) -> Objective:
    """The Objective `name` (one of OBJECTIVES) with `params`; a parameter it does not have is refused."""
    return KINDS[check_choice("objective", name, OBJECTIVES)].build(**params)


def objective_params(name: str) -> tuple:
    """The parameter names of objective `name`."""
    return tuple(KINDS[check_choice("objective", name, OBJECTIVES)].params)


def as_objective(objective) -> Objective:
    """An Objective from an Objective, a name (default parameters) or a callable (model, x, kl_weight) ->
    (loss, stats), which becomes Objective('custom', {}, fn)."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return build_objective(objective)
    if callable(objective):
        return Objective(getattr(objective, "__name__", "custom"), {}, objective)
    raise TypeError(f"objective must be an Objective (build_objective), a name from {OBJECTIVES} or a callable "
                    f"(model, x, kl_weight) -> (loss, stats); got {type(objective).__name__}")
