"""Latent-space widgets: move z with sliders and see the decoder's output; walk between two examples."""
from __future__ import annotations

import ipywidgets as widgets
import torch

from .. import plots
from ..checks import check_float, check_int
from ..metrics.latent_paths import METHODS, decode_mean, decoded_path, prior_codes
from ._base import Explorer

WIDE = {"description_width": "initial"}


class DecoderExplorer(Explorer):
    """One FloatSlider per latent dimension; each change redraws the mean of p(x|z).

    background, labels: optional (N, 2) codes and (N,) labels for a 2-D model, drawn as a map with z marked.
    `z` is the code on show, `last_data` its decoded image (1, *data_shape).
    """

    def __init__(self, model, z_range: float = 3.0, background=None, labels=None, step: float = 0.05, seed: int = 0):
        super().__init__()
        check_float("z_range", z_range, 0.0, strict=True)
        self.model, self.background, self.labels = model, background, labels
        self._seed = seed
        d = model.latent_dim
        self.sliders = [widgets.FloatSlider(value=0.0, min=-z_range, max=z_range, step=step,
                                            description=f"z{j + 1}", continuous_update=False, readout_format="+.2f",
                                            layout=widgets.Layout(width="300px"))
                        for j in range(d)]
        self.sample_button = widgets.Button(description="draw z ~ N(0, I)", icon="random")
        self.reset_button = widgets.Button(description="z = 0", icon="undo")
        self.sample_button.on_click(self.sample_prior)
        self.reset_button.on_click(lambda _b: self.set_z(torch.zeros(d)))
        cols = 1 if d <= 4 else (2 if d <= 16 else 4)
        grid = widgets.GridBox(self.sliders, layout=widgets.Layout(grid_template_columns=f"repeat({cols}, 320px)"))
        self.ui = widgets.VBox([widgets.HBox([self.sample_button, self.reset_button]), grid, self.output])
        self.observe(*self.sliders)
        self.redraw()

    @property
    def z(self) -> torch.Tensor:
        return torch.tensor([s.value for s in self.sliders], dtype=torch.float32)

    def set_z(self, z) -> None:
        """Move every slider at once (values clipped to the slider range), then redraw once."""
        values = [float(v) for v in torch.as_tensor(z).flatten()]
        if len(values) != len(self.sliders):
            raise ValueError(f"z must have {len(self.sliders)} entries (the latent dimension), got {len(values)}")
        self._hold = True
        try:
            for s, v in zip(self.sliders, values):
                s.value = min(max(v, s.min), s.max)
        finally:
            self._hold = False
        self.redraw()

    def sample_prior(self, _button=None) -> None:
        self._seed += 1
        self.set_z(prior_codes(1, self.model.latent_dim, seed=self._seed)[0])

    def draw(self):
        z = self.z
        image = decode_mean(self.model, z)
        return plots.decoder_view(image[0], z, self.background, self.labels), image


def decoder_explorer(model, z_range: float = 3.0, background=None, labels=None) -> DecoderExplorer:
    """Sliders on z -> decoded image. For a 2-D model pass background codes (N, 2) and labels to see a map."""
    return DecoderExplorer(model, z_range, background, labels)


class InterpolationExplorer(Explorer):
    """Pick two examples of `dataset` (a Dataset or an (N, *data_shape) tensor), a number of steps and a
    path shape; see the decoder's output at evenly spaced points between their encodings.

    `last_data` holds the decoded path (steps, *data_shape); `path` the whole dict (z, t, images).
    """

    def __init__(self, model, dataset, a: int = 0, b: int = 1, steps: int = 8, method: str = "linear"):
        super().__init__()
        self.model = model
        self.x = dataset.x if hasattr(dataset, "x") else torch.as_tensor(dataset)
        self.y = getattr(dataset, "y", None)
        n = self.x.shape[0]
        if n < 2:
            raise ValueError(f"dataset must hold at least 2 examples to interpolate between, got {n}")
        for name, v in (("a", a), ("b", b)):
            check_int(name, v, 0)
            if v >= n:
                raise ValueError(f"{name}={v} is not an example index; use 0 .. {n - 1}")
        check_int("steps", steps, 2)
        if method not in METHODS:
            raise ValueError(f"method={method!r} is not one of {METHODS}")
        pick = dict(min=0, max=n - 1, continuous_update=False, style=WIDE, layout=widgets.Layout(width="360px"))
        self.a = widgets.IntSlider(value=a, description="example A", **pick)
        self.b = widgets.IntSlider(value=b, description="example B", **pick)
        self.steps = widgets.IntSlider(value=steps, min=2, max=16, description="steps", continuous_update=False,
                                       style=WIDE, layout=widgets.Layout(width="300px"))
        self.method = widgets.ToggleButtons(options=list(METHODS), value=method, description="path",
                                            style={"button_width": "90px"})
        self.path = None
        self.ui = widgets.VBox([widgets.HBox([self.a, self.b]), widgets.HBox([self.steps, self.method]),
                                self.output])
        self.observe(self.a, self.b, self.steps, self.method)
        self.redraw()

    def _title(self, which: str, i: int) -> str:
        return f"{which} #{i}" + ("" if self.y is None else f" ({int(self.y[i])})")

    def draw(self):
        a, b = self.a.value, self.b.value
        path = decoded_path(self.model, self.x[a], self.x[b], self.steps.value, self.method.value)
        fig = plots.interpolation_view(path["images"], path["t"], self.x[a], self.x[b], self.method.value,
                                       start_title=self._title("A", a), end_title=self._title("B", b))
        self.path = path
        return fig, path["images"]


def interpolation_explorer(model, dataset, a: int = 0, b: int = 1, steps: int = 8,
                           method: str = "linear") -> InterpolationExplorer:
    """Two example pickers + steps + linear/spherical -> decoded images along the latent path."""
    return InterpolationExplorer(model, dataset, a, b, steps, method)


__all__ = ["DecoderExplorer", "decoder_explorer", "InterpolationExplorer", "interpolation_explorer"]
