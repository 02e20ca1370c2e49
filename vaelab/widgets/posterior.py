"""The posterior explorer: pick an example and a number of refinement steps; see the true p(z|x) of a 2-D
latent model with the encoder's q, the diagonal q after that many steps, and the full-covariance q*."""
from __future__ import annotations

import ipywidgets as widgets
import torch

from .. import plots
from ..checks import check_int
from ..metrics.gaps import posterior_picture
from ._base import Explorer

WIDE = {"description_width": "initial"}


class PosteriorExplorer(Explorer):
    """Example picker + refinement-steps slider. Each example is refined once (`max_steps` steps, cached);
    the steps slider only selects a point on that path. `last_data` is the picture dict on show."""

    def __init__(self, model, dataset, index: int = 0, steps: int = 50, max_steps: int = 200, lr: float = 0.05):
        super().__init__()
        if model.latent_dim != 2:
            raise ValueError(f"the posterior explorer needs a model with latent_dim=2, got latent_dim={model.latent_dim}")
        self.model, self.lr, self.max_steps = model, lr, check_int("max_steps", max_steps, 1)
        self.x = dataset.x if hasattr(dataset, "x") else torch.as_tensor(dataset)
        self.y = getattr(dataset, "y", None)
        n = self.x.shape[0]
        check_int("index", index, 0)
        if index >= n:
            raise ValueError(f"index={index} is not an example index; use 0 .. {n - 1}")
        check_int("steps", steps, 0)
        if steps > max_steps:
            raise ValueError(f"steps={steps} must be <= max_steps={max_steps}")
        self._cache: dict[int, dict] = {}
        self.index = widgets.BoundedIntText(value=index, min=0, max=n - 1, description="example", style=WIDE,
                                            layout=widgets.Layout(width="200px"))
        self.steps = widgets.IntSlider(value=steps, min=0, max=max_steps, description="refinement steps",
                                       continuous_update=False, style=WIDE, layout=widgets.Layout(width="420px"))
        self.ui = widgets.VBox([widgets.HBox([self.index, self.steps]), self.output])
        self.observe(self.index, self.steps)
        self.redraw()

    def picture(self, i: int) -> dict:
        if i not in self._cache:
            self._cache[i] = posterior_picture(self.model, self.x[i], steps=self.max_steps, lr=self.lr)
        return self._cache[i]

    def draw(self):
        i, k = self.index.value, self.steps.value
        pic = self.picture(i)
        # the diagonal optimum is always drawn beside the full-covariance one; q after k steps travels towards it
        gaussians = {"encoder q": (pic["mu"][0], pic["var"][0]),
                     **({f"q after {k} steps": (pic["mu"][k], pic["var"][k])} if k < self.max_steps else {}),
                     "q* (diagonal)": (pic["mu"][-1], pic["var"][-1]),
                     "q* (full cov.)": (pic["full_mean"], pic["full_cov"])}
        label = "" if self.y is None else f" (a {int(self.y[i])})"
        fig = plots.posterior_view(pic["grid"], gaussians, trace={"q* (diagonal)": pic["trace"]}, step=k,
                                   title=f"example #{i}{label}")
        return fig, pic


def posterior_explorer(model, dataset, index: int = 0, steps: int = 50, max_steps: int = 200) -> PosteriorExplorer:
    """Example picker + refinement steps -> true posterior with q, refined q and full-covariance q*."""
    return PosteriorExplorer(model, dataset, index, steps, max_steps)
