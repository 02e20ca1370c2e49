"""The Langevin explorer (notebook 07): a chain with your step size, number of steps and temperature on the true
posterior of a 2-D latent model, beside fixed reference chains (e.g. SRI's short run and a long MALA run) and
the encoder's q. The chains and their moments come from vaelab.metrics.langevin_view; the figure from plots."""
from __future__ import annotations

import ipywidgets as widgets

from .. import plots
from ..metrics.langevin_view import chain_samples, langevin_picture, moment_bias
from ._base import Explorer
from .kit import check_index, label_text

WIDE = {"description_width": "initial"}


class LangevinExplorer(Explorer):
    """Sliders: step size, steps, temperature, and a MALA switch, for the chain of the first panel ('your chain',
    n_chains chains from N(0, I) at a constant step size); `references` ({label: chain_samples keywords}) are
    run once and kept. last_data: the picture dict (grid, encoder, chains with their moment bias)."""

    def __init__(self, model, dataset, index: int = 0, references: dict | None = None, steps: int = 20,
                 step_size: float = 0.1, temperature: float = 1.0, mala: bool = False, n_chains: int = 400,
                 seed: int = 0):
        super().__init__()
        if model.latent_dim != 2:
            raise ValueError(f"the Langevin explorer needs a model with latent_dim=2, got latent_dim={model.latent_dim}")
        self.model, self.data, self.n_chains, self.seed = model, dataset, n_chains, seed
        self.index = check_index("index", index, len(dataset.x))
        self.reference = langevin_picture(model, dataset.x[self.index], references or {}, n_chains=n_chains,
                                          seed=seed + 1)
        self.steps = widgets.IntSlider(value=steps, min=1, max=500, description="steps K", continuous_update=False,
                                       style=WIDE, layout=widgets.Layout(width="380px"))
        self.step_size = widgets.FloatLogSlider(value=step_size, base=10, min=-2.5, max=0.2, step=0.05,
                                                description="step size s", continuous_update=False, style=WIDE,
                                                readout_format=".3f", layout=widgets.Layout(width="380px"))
        self.temperature = widgets.FloatSlider(value=temperature, min=0.0, max=1.5, step=0.05,
                                               description="temperature T", continuous_update=False, style=WIDE,
                                               layout=widgets.Layout(width="380px"))
        self.mala = widgets.Checkbox(value=mala, description="Metropolis correction (MALA)", style=WIDE)
        self.ui = widgets.VBox([widgets.HBox([self.steps, self.step_size]),
                                widgets.HBox([self.temperature, self.mala]), self.output])
        self.observe(self.steps, self.step_size, self.temperature, self.mala)
        self.redraw()

    def settings(self) -> dict:
        return {"steps": self.steps.value, "step_size": self.step_size.value, "temperature": self.temperature.value,
                "mala": self.mala.value and self.temperature.value > 0}

    def draw(self):
        kw = self.settings()
        run = chain_samples(self.model, self.data.x[self.index], n_chains=self.n_chains, seed=self.seed, **kw)
        run["bias"] = moment_bias(run["z"], self.reference["grid"])
        label = (f"your chain: K={kw['steps']}, s={kw['step_size']:.3g}, T={kw['temperature']:g}"
                 + (f"\nMALA, {run['accept_rate']:.0%} accepted" if kw["mala"] else ""))
        chains = {label: run, **self.reference["chains"]}
        what = label_text(self.data, self.index)
        fig = plots.langevin_view(self.reference["grid"], self.reference["encoder"], chains,
                                  title=f"test example #{self.index}" + (f" ({what})" if what else ""))
        return fig, {**self.reference, "chains": chains}


def langevin_explorer(model, dataset, index: int = 0, references: dict | None = None, **kw) -> LangevinExplorer:
    """Step size, steps, temperature and MALA sliders -> your chain beside the reference chains, on p(z|x)."""
    return LangevinExplorer(model, dataset, index, references, **kw)
