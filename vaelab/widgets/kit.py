"""The widget kit: controls that the latent-space notebooks share, and the base of the explorers built on them.

- ModelPicker: a dropdown of zoo models and a load button; the loaded model and its test data go to every
  explorer linked to it (`picker.link(explorer)`); a failed load is shown in its error Output.
- ExamplePicker: a test-set index with the example's label (a digit, or a sentence's topic and sentiment).
- LatentSliders: one slider per chosen latent dimension (the most used ones first), the rest held at a base code.
- ModelExplorer: an Explorer bound to (model, test data) that decodes to images or sentences; set_model()
  rebinds it to another model and redraws.
The maths (encodings, rankings, decodings) comes from vaelab.metrics; the figures from vaelab.plots.
"""
from __future__ import annotations

import html
from contextlib import contextmanager

import ipywidgets as widgets
import torch

from ..checks import check_float, check_int
from ..data.text import vocabulary_of
from ..metrics.latent import encode_all
from ..metrics.latent_map import rank_dims
from ..metrics.latent_paths import decode_items
from ._base import Explorer, error_output

WIDE = {"description_width": "initial"}


def map_labels(dataset) -> torch.Tensor | None:
    """One integer label per example for colouring a map: the digit, or a sentence's topic (column 0)."""
    y = getattr(dataset, "y", None)
    if y is None:
        return None
    return y[:, 0] if y.dim() == 2 else y


def label_text(dataset, i: int) -> str:
    """A short description of example i's label: 'a 7', or 'topic sport, positive' for synthetic text."""
    y, meta = getattr(dataset, "y", None), getattr(dataset, "meta", {})
    if y is None:
        return ""
    if y.dim() == 2 and "topics" in meta:
        return f"topic {meta['topics'][int(y[i, 0])]}, {meta['sentiments'][int(y[i, 1])]}"
    if y.dim() == 2:
        return ", ".join(f"{n}={int(v)}" for n, v in zip(meta.get("label_names", range(y.shape[1])), y[i]))
    return f"a {int(y[i])}"


def check_index(name: str, value, n: int) -> int:
    check_int(name, value, 0)
    if value >= n:
        raise ValueError(f"{name}={value} is not an example index; use 0 .. {n - 1}")
    return value


class ExamplePicker:
    """A test-set index box and what that example is. `.value` is the index; observe(fn) like a widget."""

    def __init__(self, dataset, index: int = 0, description: str = "example"):
        self.index = widgets.BoundedIntText(value=0, min=0, max=0, description=description, style=WIDE,
                                            layout=widgets.Layout(width="190px"))
        self.label = widgets.HTML()
        self.ui = widgets.HBox([self.index, self.label])
        self.index.observe(self._relabel, names="value")
        self.set_dataset(dataset, index)

    def set_dataset(self, dataset, index: int | None = None) -> None:
        self.dataset = dataset
        n = len(dataset.x)
        value = self.index.value if index is None else check_index("index", index, n)
        self.index.max = n - 1
        self.index.value = min(value, n - 1)
        self._relabel()

    def _relabel(self, change=None) -> None:
        i = self.index.value
        text = label_text(self.dataset, i)
        if self.dataset.meta.get("kind") == "text":
            text += ": “" + vocabulary_of(self.dataset).decode(self.dataset.x[i]) + "”"
        self.label.value = f"<span style='font-size:15px'>{html.escape(text)}</span>"

    @property
    def value(self) -> int:
        return self.index.value

    @value.setter
    def value(self, v: int) -> None:
        self.index.value = v

    def observe(self, fn) -> None:
        self.index.observe(fn, names="value")


class LatentSliders:
    """Sliders for latent dimensions `dims` (0-based); every other dimension stays at `base` (default 0).
    `.z` is the code they describe: (latent_dim,)."""

    def __init__(self, latent_dim: int, dims, z_range: float = 3.0, base=None, kl=None, step: float = 0.05):
        check_int("latent_dim", latent_dim, 1)
        check_float("z_range", z_range, 0.0, strict=True)
        self.dims = [int(j) for j in dims]
        bad = [j for j in self.dims if not 0 <= j < latent_dim]
        if not self.dims or bad:
            raise ValueError(f"dims must be a non-empty list of dimensions in 0 .. {latent_dim - 1}, got {self.dims}")
        self.latent_dim = latent_dim
        self.base = torch.zeros(latent_dim) if base is None else self._code(base)
        self.sliders = [widgets.FloatSlider(
            value=0.0, min=-z_range, max=z_range, step=step, continuous_update=False, readout_format="+.2f",
            description=f"z{j + 1}" + ("" if kl is None else f" ({float(kl[j]):.1f} nats)"), style=WIDE,
            layout=widgets.Layout(width="360px")) for j in self.dims]
        self.ui = widgets.GridBox(self.sliders, layout=widgets.Layout(
            grid_template_columns=f"repeat({1 if len(self.dims) <= 4 else 2}, 370px)"))
        self.set_z(self.base)

    def _code(self, z) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float32).detach().cpu().flatten()
        if z.shape[0] != self.latent_dim:
            raise ValueError(f"z must have {self.latent_dim} entries (the latent dimension), got {z.shape[0]}")
        return z

    @property
    def z(self) -> torch.Tensor:
        z = self.base.clone()
        z[self.dims] = torch.tensor([s.value for s in self.sliders])
        return z

    def set_z(self, z) -> None:
        """Make `z` the base code and move the sliders to its entries (clipped to their range)."""
        self.base = self._code(z)
        for s, j in zip(self.sliders, self.dims):
            s.value = min(max(float(self.base[j]), s.min), s.max)

    def observe(self, fn) -> None:
        for s in self.sliders:
            s.observe(fn, names="value")


class ModelExplorer(Explorer):
    """An Explorer bound to a model and its test data. After bind(): model, data, kind ('image'|'text'),
    vocab (text) , x, labels, mu and logvar (the test set's encodings, CPU), order and kl (dims ranked by KL)."""

    def bind(self, model, dataset) -> None:
        self.model, self.data = model, dataset
        self.kind = "text" if dataset.meta.get("kind") == "text" else "image"
        self.vocab = vocabulary_of(dataset) if self.kind == "text" else None
        self.x, self.labels = dataset.x, map_labels(dataset)
        model.eval()
        mu, logvar = encode_all(model, self.x.to(model.device))
        self.mu, self.logvar = mu.cpu(), logvar.cpu()
        self.order, self.kl = rank_dims(self.mu, self.logvar)

    def decode(self, z):
        """Images (N, *data_shape) or N sentences for codes z (N, d)."""
        return decode_items(self.model, z, self.vocab)

    def item(self, i: int):
        """Example i as the figures show it: an image (1, *data_shape) or a one-sentence list."""
        return [self.vocab.decode(self.x[i])] if self.kind == "text" else self.x[i:i + 1]

    @contextmanager
    def hold(self):
        """Change several controls with no redraw in between (redraw once afterwards)."""
        before, self._hold = self._hold, True
        try:
            yield
        finally:
            self._hold = before

    def rebuild(self) -> None:
        """Adapt the controls to a newly bound model (subclasses override)."""

    def set_model(self, model, dataset) -> None:
        """Bind to another model (and its test data), adapt the controls, redraw once."""
        with self.hold():
            self.bind(model, dataset)
            self.rebuild()
        self.after_rebind()

    def after_rebind(self) -> None:
        self.redraw()


class ModelPicker:
    """A dropdown of zoo entries, a load button, a status line and an error Output.

    After a load: name, model, history and data (zoo.test_data of that entry, `n_test` examples). Linked
    explorers get set_model(model, data) after every successful load. `load`/`test_data` replace zoo.load
    and zoo.test_data (tests, or models that are not in the zoo)."""

    hint = "Pick another model, or press load to try again."

    def __init__(self, names=None, kind: str | None = None, value: str | None = None, quick: bool | None = None,
                 n_test: int | None = None, device=None, load=None, test_data=None, autoload: bool = True):
        from .. import zoo

        self.quick, self.n_test, self.device = quick, n_test, device
        self._load, self._test_data = load or zoo.load, test_data or zoo.test_data
        names = list(zoo.names(kind, quick) if names is None else names)
        if not names:
            raise ValueError(f"no zoo models to pick from (kind={kind!r})")
        if value is not None and value not in names:
            raise ValueError(f"value={value!r} is not one of the models to pick: {names}")

        def title(n):
            try:
                return f"{n}: {zoo.entry(n).title}"
            except ValueError:
                return n

        self.dropdown = widgets.Dropdown(options=[(title(n), n) for n in names], value=value or names[0],
                                         description="model", layout=widgets.Layout(width="560px"))
        self.button = widgets.Button(description="load", icon="download", button_style="primary")
        self.status = widgets.HTML()
        self.errors = widgets.Output()
        self.name = self.model = self.history = self.data = None
        self.last_error: BaseException | None = None
        self.explorers: list = []
        self.button.on_click(self.load)
        self.dropdown.observe(self._pending, names="value")
        self.ui = widgets.VBox([widgets.HBox([self.dropdown, self.button]), self.status, self.errors])
        if autoload:
            self.load()

    def _pending(self, change=None) -> None:
        self.status.value = (f"loaded: <b>{html.escape(str(self.name))}</b>. Press <b>load</b> for "
                             f"<b>{html.escape(self.dropdown.value)}</b> (trains it first if it is not cached).")

    def link(self, *explorers) -> None:
        """Rebind these explorers to every model loaded from now on (and to the current one)."""
        self.explorers.extend(explorers)
        if self.model is not None:
            for ex in explorers:
                ex.set_model(self.model, self.data)

    def load(self, _button=None) -> bool:
        """Load the chosen model and its test data; True on success. Failures go to `errors`, not up."""
        name = self.dropdown.value
        try:
            model, history = self._load(name, quick=self.quick, device=self.device)
            data = self._test_data(name, n=self.n_test, quick=self.quick)
            for ex in self.explorers:
                ex.set_model(model, data)
        except Exception as err:  # shown in the error Output and kept: visible, not swallowed
            self.last_error = err
            self.errors.outputs = (error_output(err, self.hint),)
            self.status.value = f"<b style='color:#b00000'>could not load {html.escape(name)}</b> (see below)"
            return False
        self.name, self.model, self.history, self.data, self.last_error = name, model, history, data, None
        self.errors.outputs = ()
        self.status.value = (f"loaded <b>{html.escape(name)}</b>: latent_dim {model.latent_dim}, "
                             f"{len(data.x)} test examples")
        return True

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The live controls, plus the status line as HTML: a static page (nbconvert, the course website) has no
        # kernel, so without it the picker would show as its text repr, "VBox(children=...)".
        bundle = dict(self.ui._repr_mimebundle_())
        bundle["text/html"] = f"<p style='font-size:15px'>model picker · {self.status.value}</p>"
        return bundle

    def _ipython_display_(self):
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
