"""Pick a remedy and a decoder strength from precomputed runs; see the training curves and KL per dim."""
from __future__ import annotations

import ipywidgets as widgets

from .. import plots
from ._base import Explorer


class CollapseExplorer(Explorer):
    """runs: {(remedy, decoder): history or (model, history)} (what vaelab.train.train_remedies returns,
    trained with diagnostics=True). Two dropdowns; each change redraws plots.collapse_view for that run,
    with the plain-ELBO run of the same decoder dashed for comparison. `last_data` is the chosen history."""

    def __init__(self, runs: dict, remedy: str | None = None, decoder: str | None = None):
        super().__init__()
        if not runs:
            raise ValueError("runs is empty: pass what vaelab.train.train_remedies returns")
        self.runs = {k: (v[1] if isinstance(v, tuple) else v) for k, v in runs.items()}
        remedies = list(dict.fromkeys(r for r, _ in self.runs))
        decoders = list(dict.fromkeys(d for _, d in self.runs))
        for name, value, options in (("remedy", remedy, remedies), ("decoder", decoder, decoders)):
            if value is not None and value not in options:
                raise ValueError(f"{name}={value!r} is not among the precomputed runs; choose one of {options}")
        self.remedy = widgets.Dropdown(options=remedies, value=remedy or remedies[0], description="remedy")
        self.decoder = widgets.Dropdown(options=decoders, value=decoder or decoders[0], description="decoder")
        self.ui = widgets.VBox([widgets.HBox([self.remedy, self.decoder]), self.output])
        self.observe(self.remedy, self.decoder)
        self.redraw()

    def draw(self):
        key = (self.remedy.value, self.decoder.value)
        if key not in self.runs:
            raise KeyError(f"no precomputed run for remedy={key[0]!r} with decoder={key[1]!r}; "
                           f"available: {sorted(self.runs)}")
        history = self.runs[key]
        baseline = self.runs.get(("none", key[1])) if key[0] != "none" else None
        fig = plots.collapse_view(history, title=f"{key[0]} · {key[1]} decoder", compare=baseline,
                                  label=key[0])
        return fig, history


def collapse_explorer(runs, **kw) -> CollapseExplorer:
    return CollapseExplorer(runs, **kw)
