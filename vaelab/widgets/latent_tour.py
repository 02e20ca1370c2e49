"""The latent map and the slider decoder of notebook 06, for any zoo model (images or text).

MapExplorer: the test set's encoder means on a 2-D map (the latent itself, PCA or t-SNE), the chosen example
ringed, posterior ellipses of selected examples, and what the decoder draws at a point of the map. The point
is chosen with two map sliders (the fallback that always works, headless included) or, when ipympl is
installed, by clicking a live map (enable_clicks(): an ipympl canvas widget; no backend switch needed).
DecodeExplorer: sliders for the top-k latent dimensions by KL, starting from an example's code.
"""
from __future__ import annotations

import importlib.util

import ipywidgets as widgets
import torch

from .. import plots
from ..checks import check_choice, check_int
from ..metrics.latent_map import latent_map, nearest_neighbours, project_gaussian, unproject
from .kit import WIDE, ExamplePicker, LatentSliders, ModelExplorer, check_index


def ipympl_available() -> bool:
    """True when ipympl is installed (click-to-decode needs its interactive canvas)."""
    return importlib.util.find_spec("ipympl") is not None


def interactive_figure(figsize=(7, 5.5)):
    """A matplotlib Figure on an ipympl canvas (a DOMWidget that forwards browser clicks), whatever the
    current backend is. Raises a clear error when ipympl is not installed."""
    if not ipympl_available():
        raise ModuleNotFoundError("click-to-decode needs ipympl (pip install ipympl, then restart JupyterLab); "
                                  "the map x / map y sliders do the same without it")
    from ipympl.backend_nbagg import Canvas, FigureManager
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    canvas = Canvas(figure)
    canvas.header_visible = False          # no "Figure 0" title bar; the footer shows the pointer's coordinates
    FigureManager(canvas, 0)               # the manager routes the front-end's messages (clicks) to the canvas
    return figure


def ipympl_active() -> bool:
    """True when matplotlib's current backend is ipympl's (`%matplotlib widget` / `%matplotlib ipympl`)."""
    import matplotlib

    return "ipympl" in matplotlib.get_backend().lower() or "widget" in matplotlib.get_backend().lower()


def parse_indices(text: str, n: int) -> list[int]:
    """'3, 17 42' -> [3, 17, 42], each checked to be an example index in 0 .. n-1."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        idx = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"selected={text!r}: write example indices separated by commas, e.g. '0, 5, 12'") from None
    for i in idx:
        check_index("selected index", i, n)
    return idx


class MapExplorer(ModelExplorer):
    """method: 'auto' (the latent itself when 2-D, else PCA), 'pca' or 'tsne'. `point` is the map position
    being decoded; for t-SNE (no inverse map) it decodes the code of the nearest test example on the map.
    last_data: dict(point (2,), z (d,), items)."""

    METHODS = ("auto", "pca", "tsne")

    def __init__(self, model, dataset, method: str = "auto", index: int = 0, selected=(), seed: int = 0):
        super().__init__()
        check_choice("method", method, self.METHODS)
        self.seed, self._maps, self.click_figure = seed, {}, None
        self.method = widgets.ToggleButtons(options=list(self.METHODS), value=method, description="map",
                                            style={"button_width": "70px"})
        self.picker = ExamplePicker(dataset, index)
        self.selected = widgets.Text(value=", ".join(map(str, selected)), description="ellipses for examples",
                                     continuous_update=False, style=WIDE, layout=widgets.Layout(width="420px"))
        self.u = widgets.FloatSlider(description="map x", continuous_update=False, style=WIDE, step=0.01,
                                     layout=widgets.Layout(width="420px"))
        self.v = widgets.FloatSlider(description="map y", continuous_update=False, style=WIDE, step=0.01,
                                     layout=widgets.Layout(width="420px"))
        self.bind(model, dataset)
        self.rebuild()
        self.ui = widgets.VBox([widgets.HBox([self.method, self.picker.ui]), self.selected,
                                widgets.HBox([self.u, self.v]), self.output])
        self.method.observe(self._new_map, names="value")
        self.picker.observe(self._to_example)
        self.observe(self.selected, self.u, self.v)
        self._to_example()

    # -- state ----------------------------------------------------------------------------------------------
    def bind(self, model, dataset) -> None:
        super().bind(model, dataset)
        self._maps = {}

    def rebuild(self) -> None:
        self.picker.set_dataset(self.data)
        self._fit_sliders()

    @property
    def map(self) -> dict:
        """latent_map() of the test set's means for the chosen method (computed once per method)."""
        method = self.method.value
        if method not in self._maps:
            self._maps[method] = latent_map(self.mu, method, seed=self.seed)
        return self._maps[method]

    def _fit_sliders(self) -> None:
        pts = self.map["points"]
        lo, hi = pts.min(0).values - 0.5, pts.max(0).values + 0.5
        with self.hold():
            for s, a, b in ((self.u, float(lo[0]), float(hi[0])), (self.v, float(lo[1]), float(hi[1]))):
                s.max = max(b, s.max)      # widen first, so that min <= max holds at every step
                s.min, s.max = a, b

    def _new_map(self, change=None) -> None:
        with self.hold():
            self._fit_sliders()
        self._draw_click_map()
        self._to_example()

    def after_rebind(self) -> None:
        self._draw_click_map()
        self._to_example()

    def _to_example(self, change=None) -> None:
        """Move the map sliders onto the chosen example, then redraw once."""
        pt = self.map["points"][self.picker.value]
        self.goto(float(pt[0]), float(pt[1]))

    def goto(self, x: float, y: float) -> None:
        """Decode at map point (x, y): what a click does, and what the two sliders do."""
        with self.hold():
            self.u.value, self.v.value = float(x), float(y)
        self.redraw()

    @property
    def point(self) -> torch.Tensor:
        return torch.tensor([self.u.value, self.v.value])

    def code_at(self, point) -> torch.Tensor:
        """The latent code shown at a map point: the inverse of a linear map, else the nearest example's."""
        m = self.map
        if m["projection"] is not None:
            return unproject(point, m["projection"])[0]
        i, _ = nearest_neighbours(m["points"], torch.as_tensor(point), 1)
        return self.mu[int(i[0])]

    # -- click-to-decode (ipympl) -----------------------------------------------------------------------------
    def on_click(self, event) -> None:
        """A matplotlib button_press_event handler: decode where the map was clicked."""
        if event.inaxes is not None and event.xdata is not None and event.inaxes is self._click_axes:
            self.goto(event.xdata, event.ydata)

    def enable_clicks(self, figure=None):
        """Add a live map whose clicks decode to the explorer's UI, on an ipympl canvas (interactive_figure()).
        Returns the figure. `figure`: draw into this one instead (tests pass an Agg figure). The live map is
        redrawn when the map method or the model changes."""
        if figure is None:
            figure = interactive_figure()
        if self.click_figure is not None:
            self.click_figure.canvas.mpl_disconnect(self._click_cid)
        self.click_figure = figure
        self._click_cid = figure.canvas.mpl_connect("button_press_event", self.on_click)
        self._draw_click_map()
        if isinstance(figure.canvas, widgets.DOMWidget) and figure.canvas not in self.ui.children:
            self.ui.children = (*self.ui.children[:-1], figure.canvas, self.output)
        return figure

    def _draw_click_map(self) -> None:
        figure = self.click_figure
        if figure is None:
            return
        figure.clear()
        ax = figure.subplots()
        m = self.map
        plots.draw_map(ax, m["points"], self.labels, m["axes"], title="click to decode", legend=False,
                       point_size=10)
        self._click_axes = ax
        figure.canvas.draw_idle()

    _click_axes = _click_cid = None

    # -- drawing ----------------------------------------------------------------------------------------------
    def ellipses(self) -> list:
        """(mean, covariance) on the map of q(z|x) for each selected example ([] for t-SNE: not linear)."""
        idx = parse_indices(self.selected.value, len(self.x))
        proj = self.map["projection"]
        if not idx or proj is None:
            return []
        means, covs = project_gaussian(self.mu[idx], self.logvar[idx], proj)
        return list(zip(means, covs))

    def draw(self):
        m, i = self.map, self.picker.value
        point = self.point
        z = self.code_at(point)
        items = self.decode(z)
        where = "the nearest example's code" if m["projection"] is None else \
            ("z = (" + ", ".join(f"{float(v):+.2f}" for v in z) + ")" if z.numel() <= 4 else f"|z| = {float(z.norm()):.2f}")
        highlight = [i] + parse_indices(self.selected.value, len(self.x))
        fig = plots.map_view(m["points"], self.labels, m["axes"], highlight=highlight, ellipses=self.ellipses(),
                             marker=point, items=items, items_title=f"decoded at the cross ({where})",
                             title=f"test set, {m['method']} map")
        return fig, {"point": point, "z": z, "items": items}


class DecodeExplorer(ModelExplorer):
    """Sliders on the k most used latent dimensions (by KL), the others held at the chosen example's code.
    `z` is the code on show; last_data what it decodes to."""

    def __init__(self, model, dataset, k: int = 4, index: int = 0, z_range: float = 3.0):
        super().__init__()
        self.k, self.z_range = check_int("k", k, 1), z_range
        self.picker = ExamplePicker(dataset, index)
        self.reset = widgets.Button(description="back to the example", icon="undo")
        self.box = widgets.VBox()
        self.ui = widgets.VBox([widgets.HBox([self.picker.ui, self.reset]), self.box, self.output])
        self.bind(model, dataset)
        self.rebuild()
        self.picker.observe(self._to_example)
        self.reset.on_click(self._to_example)
        self._to_example()

    def rebuild(self) -> None:
        self.picker.set_dataset(self.data)
        dims = self.order[:min(self.k, self.model.latent_dim)].tolist()
        self.sliders = LatentSliders(self.model.latent_dim, dims, self.z_range, kl=self.kl)
        self.sliders.observe(self.redraw)
        self.box.children = (self.sliders.ui,)

    def after_rebind(self) -> None:
        self._to_example()

    def _to_example(self, change=None) -> None:
        with self.hold():
            self.sliders.set_z(self.mu[self.picker.value])
        self.redraw()

    @property
    def z(self) -> torch.Tensor:
        return self.sliders.z

    def draw(self):
        z = self.z
        items = self.decode(z)
        values = [f"z{j + 1}={float(z[j]):+.2f}" for j in self.sliders.dims]
        # one value per line above a single image (a narrow figure), in one line above a sentence
        fig = plots.item_grid(items, ncol=1, title=(", " if self.kind == "text" else "\n").join(values), width=6.0)
        return fig, items
