"""Walks through a latent space, for images and text alike: traversals of the most used dimensions, linear
and spherical paths between two examples, nearest neighbours, prior samples, and two models compared."""
from __future__ import annotations

import ipywidgets as widgets
import torch

from .. import plots
from ..checks import check_float, check_int
from ..metrics.latent_map import latent_map, nearest_neighbours
from ..metrics.latent_paths import METHODS, interpolate, path_times, prior_codes, traversal_codes
from ._base import Explorer
from .kit import WIDE, ExamplePicker, ModelExplorer


def _slider(cls, description, value, lo, hi, **kw):
    return cls(value=value, min=lo, max=hi, description=description, continuous_update=False, style=WIDE,
               layout=widgets.Layout(width="320px"), **kw)


class TraversalExplorer(ModelExplorer):
    """Start at an example's code; vary the k most used dimensions (by KL) one at a time over
    [-span, +span] in `steps` values. last_data: the decoded grid (k * steps items, row by row)."""

    def __init__(self, model, dataset, k: int = 4, span: float = 3.0, steps: int = 7, index: int = 0):
        super().__init__()
        check_int("k", k, 1)
        check_float("span", span, 0.0, strict=True)
        check_int("steps", steps, 2)
        self.picker = ExamplePicker(dataset, index)
        self.k = _slider(widgets.IntSlider, "dimensions", k, 1, max(k, 8))
        self.span = _slider(widgets.FloatSlider, "± span", span, 0.5, 5.0, step=0.5)
        self.steps = _slider(widgets.IntSlider, "values", steps, 2, 11)
        self.ui = widgets.VBox([self.picker.ui, widgets.HBox([self.k, self.span, self.steps]), self.output])
        self.bind(model, dataset)
        self.picker.observe(self.redraw)
        self.observe(self.k, self.span, self.steps)
        self.redraw()

    def rebuild(self) -> None:
        self.picker.set_dataset(self.data)

    def draw(self):
        dims = self.order[:min(self.k.value, self.model.latent_dim)].tolist()
        values = torch.linspace(-self.span.value, self.span.value, self.steps.value)
        codes = traversal_codes(self.mu[self.picker.value], dims, values)
        items = self.decode(codes.reshape(-1, codes.shape[-1]))
        fig = plots.traversal_view(items, dims, values, kl=self.kl)
        self.dims, self.values = dims, values
        return fig, items


class PathExplorer(ModelExplorer):
    """Two examples A and B; their codes joined by a straight line and by a great-circle arc (slerp), each
    decoded at `steps` points. last_data: {method: items}; `paths`: {method: codes (steps, d)}."""

    def __init__(self, model, dataset, a: int = 0, b: int = 1, steps: int = 7):
        super().__init__()
        check_int("steps", steps, 2)
        self.a = ExamplePicker(dataset, a, "example A")
        self.b = ExamplePicker(dataset, b, "example B")
        self.steps = _slider(widgets.IntSlider, "steps", steps, 2, 12)
        self.ui = widgets.VBox([self.a.ui, self.b.ui, self.steps, self.output])
        self.bind(model, dataset)
        self.a.observe(self.redraw)
        self.b.observe(self.redraw)
        self.observe(self.steps)
        self.redraw()

    def rebuild(self) -> None:
        self.a.set_dataset(self.data)
        self.b.set_dataset(self.data)

    def draw(self):
        za, zb, s = self.mu[self.a.value], self.mu[self.b.value], self.steps.value
        self.paths = {m: interpolate(za, zb, s, m) for m in METHODS}
        items = {m: self.decode(z) for m, z in self.paths.items()}
        fig = plots.path_view(items, path_times(s),
                              title=f"From example {self.a.value} (t = 0) to example {self.b.value} (t = 1)")
        return fig, items


class NeighbourExplorer(ModelExplorer):
    """An example and its k nearest test examples by the distance between encoder means.
    last_data: (indices (k,), distances (k,))."""

    def __init__(self, model, dataset, index: int = 0, k: int = 8):
        super().__init__()
        check_int("k", k, 1)
        self.picker = ExamplePicker(dataset, index)
        self.k = _slider(widgets.IntSlider, "neighbours", k, 1, max(k, 16))
        self.ui = widgets.VBox([widgets.HBox([self.picker.ui, self.k]), self.output])
        self.bind(model, dataset)
        self.picker.observe(self.redraw)
        self.observe(self.k)
        self.redraw()

    def rebuild(self) -> None:
        self.picker.set_dataset(self.data)

    def draw(self):
        i = self.picker.value
        idx, dist = nearest_neighbours(self.mu, i, self.k.value)
        if self.kind == "text":
            neighbours = [self.vocab.decode(self.x[j]) for j in idx]
        else:
            neighbours = self.x[idx]
        fig = plots.neighbours_view(self.item(i), neighbours, dist, query_title=f"example {i}")
        return fig, (idx, dist)


class SampleExplorer(ModelExplorer):
    """n codes from the prior N(0, I), decoded; a button draws new ones. last_data: the decodings."""

    def __init__(self, model, dataset, n: int = 16, seed: int = 0):
        super().__init__()
        self.seed = seed
        self.n = _slider(widgets.IntSlider, "samples", check_int("n", n, 1), 1, max(n, 36))
        self.button = widgets.Button(description="new samples", icon="random")
        self.button.on_click(self.resample)
        self.ui = widgets.VBox([widgets.HBox([self.n, self.button]), self.output])
        self.bind(model, dataset)
        self.observe(self.n)
        self.redraw()

    def resample(self, _button=None) -> None:
        self.seed += 1
        self.redraw()

    def draw(self):
        n = self.n.value if self.kind != "text" else min(self.n.value, 12)
        self.codes = prior_codes(n, self.model.latent_dim, self.seed)
        items = self.decode(self.codes)
        title = f"z ~ N(0, I), decoded (seed {self.seed})"
        return plots.item_grid(items, title=title), items


class CompareExplorer(Explorer):
    """Two models side by side. models: {name: (model, test dataset)}. view 'maps': each test set's encoder
    means on its own 2-D map; 'path': each model's decodings along the straight line between its codes of
    examples A and B (indices into the first model's test set; give models that share a test set).
    last_data: {name: points (N, 2)} or {name: decodings}."""

    VIEWS = ("maps", "path")

    def __init__(self, models: dict, left=None, right=None, view: str = "maps", a: int = 0, b: int = 1,
                 steps: int = 6):
        super().__init__()
        if len(models) < 2:
            raise ValueError(f"models must hold at least two (model, dataset) pairs to compare, got {len(models)}")
        self.models, names = dict(models), list(models)
        self.explorers = {}
        for side, value in (("left", left), ("right", right)):
            if value is not None and value not in names:
                raise ValueError(f"{side}={value!r} is not one of the models: {names}")
        self.left = widgets.Dropdown(options=names, value=left or names[0], description="left")
        self.right = widgets.Dropdown(options=names, value=right or names[1], description="right")
        self.view = widgets.ToggleButtons(options=list(self.VIEWS), value=view, description="show")
        first = next(iter(self.models.values()))[1]
        self.a, self.b = ExamplePicker(first, a, "example A"), ExamplePicker(first, b, "example B")
        self.steps = _slider(widgets.IntSlider, "steps", check_int("steps", steps, 2), 2, 10)
        self.ui = widgets.VBox([widgets.HBox([self.left, self.right]), self.view, self.a.ui, self.b.ui,
                                self.steps, self.output])
        self.observe(self.left, self.right, self.view, self.steps)
        self.a.observe(self.redraw)
        self.b.observe(self.redraw)
        self.redraw()

    def side(self, name) -> ModelExplorer:
        """A ModelExplorer bound to that model (its encodings, computed once)."""
        if name not in self.explorers:
            ex = ModelExplorer()
            ex.bind(*self.models[name])
            self.explorers[name] = ex
        return self.explorers[name]

    def draw(self):
        names = [self.left.value, self.right.value]
        sides = [self.side(n) for n in names]
        if self.view.value == "maps":
            maps = [latent_map(s.mu) for s in sides]
            fig = plots.compare_maps([{"points": m["points"], "labels": s.labels, "axes": m["axes"], "title": n}
                                      for n, m, s in zip(names, maps, sides)])
            return fig, {n: m["points"] for n, m in zip(names, maps)}
        t = path_times(self.steps.value)
        out = {}
        for n, s in zip(names, sides):
            z = interpolate(s.mu[self.a.value], s.mu[self.b.value], self.steps.value, "linear")
            out[n] = s.decode(z)
        title = f"Straight path from example {self.a.value} (t = 0) to {self.b.value} (t = 1)"
        if all(s.kind == "text" for s in sides):
            fig = plots.compare_items(out, row_labels=[f"t={float(v):.2g}" for v in t], title=title)
        else:
            fig = plots.path_view(out, t, title=title)
        return fig, out
