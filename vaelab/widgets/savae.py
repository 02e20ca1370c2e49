"""The SVI-path explorer of notebook 05: a steps slider moves q_k along the (precomputed) refinement path of
one example, drawn on the true posterior of a 2-D latent model."""
from __future__ import annotations

import ipywidgets as widgets

from .. import plots
from ..checks import check_int
from ..metrics.savae import refinement_path
from ._base import Explorer

WIDE = {"description_width": "initial"}


class RefinementPathExplorer(Explorer):
    """Steps slider over one example's refinement path, computed once for `max_steps` steps (cached);
    moving the slider only redraws. `last_data` is the path dict on show."""

    def __init__(self, model, x, *, steps: int = 5, max_steps: int = 20, lr: float = 0.1, momentum: float = 0.5,
                 clip: float | None = 5.0, title: str | None = None):
        super().__init__()
        check_int("max_steps", max_steps, 1)
        check_int("steps", steps, 0)
        if steps > max_steps:
            raise ValueError(f"steps={steps} must be <= max_steps={max_steps}")
        self.pic = refinement_path(model, x, steps=max_steps, lr=lr, momentum=momentum, clip=clip)
        self.title = title
        self.steps = widgets.IntSlider(value=steps, min=0, max=max_steps, description="SVI steps k",
                                       continuous_update=False, style=WIDE, layout=widgets.Layout(width="420px"))
        self.ui = widgets.VBox([self.steps, self.output])
        self.observe(self.steps)
        self.redraw()

    def draw(self):
        return plots.refinement_path_view(self.pic, self.steps.value, title=self.title), self.pic


def refinement_path_explorer(model, x, steps: int = 5, max_steps: int = 20, lr: float = 0.1, momentum: float = 0.5,
                             clip: float | None = 5.0, title: str | None = None) -> RefinementPathExplorer:
    """Steps slider -> the path of λ_k = (μ_k, log σ²_k) on the true posterior of x, with the ELBO trace."""
    return RefinementPathExplorer(model, x, steps=steps, max_steps=max_steps, lr=lr, momentum=momentum, clip=clip,
                                  title=title)
