"""What every vaelab widget shares: an Output that shows the figure or the error, and a static fallback.

A widget subclasses Explorer, builds its controls, and implements `draw() -> (figure, data)`.
`redraw()` calls it; the figure goes into `self.output` as a PNG, and any exception goes there as a
traceback (never swallowed: `.last_error` keeps it too). Writing to `Output.outputs` directly, instead of
`with output:`, works the same in a kernel and in plain pytest, so the wiring is testable without Jupyter.
"""
from __future__ import annotations

import base64
import io
import traceback

import ipywidgets as widgets

PNG_DPI = 100


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()


def figure_output(fig) -> dict:
    """A display_data output (nbformat dict) holding the figure as a PNG."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(figure_png(fig)).decode("ascii"),
                     "text/plain": f"<Figure {fig.get_figwidth():g}x{fig.get_figheight():g} in>"}}


def error_output(err: BaseException, hint: str = "") -> dict:
    """An error output (nbformat dict) with the full traceback, as a failing cell would show it."""
    tb = traceback.format_exception(type(err), err, err.__traceback__)
    if hint:
        tb.append(hint)
    return {"output_type": "error", "ename": type(err).__name__, "evalue": str(err), "traceback": tb}


def sweep_results(results, needed: tuple, key: str, source: str) -> list:
    """The results of a precomputed sweep, checked for the keys a widget reads and sorted by `key`."""
    results = list(results)
    if not results:
        raise ValueError(f"results is empty: pass the list that {source} returns")
    for r in results:
        missing = [k for k in needed if k not in r]
        if missing:
            raise ValueError(f"each result needs keys {needed}; one is missing {missing}. "
                             f"Pass the list that {source} returns")
    return sorted(results, key=lambda r: r[key])


def sweep_slider(values: list, value, description: str) -> widgets.SelectionSlider:
    """A slider over the settings of a precomputed sweep; its .value is the index of the chosen setting."""
    if value not in values:
        raise ValueError(f"{description.split()[0]}={value!r} is not in the sweep; choose one of {values}")
    return widgets.SelectionSlider(options=[(f"{v:g}", i) for i, v in enumerate(values)], value=values.index(value),
                                   description=description, continuous_update=False,
                                   style={"description_width": "initial"}, layout=widgets.Layout(width="520px"))


class Explorer:
    """Base of the vaelab widgets. Attributes for tests and for the curious:

    ui: the ipywidgets container to display. output: the Output widget holding the figure or the error.
    figure: the last figure drawn. last_data: the tensor that figure shows (e.g. decoded images).
    last_error: the exception of the last failed redraw, else None. draws: how many redraws succeeded.
    """

    hint = "The controls still work: change a value to try again."

    def __init__(self):
        self.output = widgets.Output(layout=widgets.Layout(min_height="120px"))
        self.figure = None
        self.last_data = None
        self.last_error: BaseException | None = None
        self.draws = 0
        self._hold = False
        self.ui: widgets.Widget = self.output

    def draw(self):
        """Return (figure, data). Subclasses override."""
        raise NotImplementedError

    def redraw(self, change=None) -> None:
        """Draw the current view into the Output; show the traceback there if drawing fails."""
        if self._hold:
            return
        try:
            fig, data = self.draw()
            shown = figure_output(fig)
        except Exception as err:  # shown in the Output and kept in last_error: visible, not swallowed
            self.last_error = err
            self.output.outputs = (error_output(err, self.hint),)
            return
        self.figure, self.last_data, self.last_error = fig, data, None
        self.draws += 1
        self.output.outputs = (shown,)

    def observe(self, *controls) -> None:
        for c in controls:
            c.observe(self.redraw, names="value")

    def _repr_mimebundle_(self, include=None, exclude=None):
        # The live widget for Jupyter, plus what its Output shows for a static render (GitHub, nbconvert, the
        # course website), which cannot run the widget: the current figure as a PNG, or the error that stopped it.
        # nbconvert's HTML takes the PNG when the notebook holds no saved widget state (JupyterLab's default).
        bundle = dict(self.ui._repr_mimebundle_())
        shown = self.output.outputs[0] if self.output.outputs else None
        if shown and shown.get("output_type") == "display_data":
            bundle["image/png"] = shown["data"]["image/png"]
        elif shown and shown.get("output_type") == "error":
            bundle["text/plain"] = f"{type(self).__name__} could not draw: {shown['ename']}: {shown['evalue']}"
        return bundle

    def _ipython_display_(self):
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.draws} draws{', last error: ' + repr(self.last_error) if self.last_error else ''}>"


class SweepExplorer(Explorer):
    """An Explorer over precomputed sweep results (self.results): a slider picks one, nothing trains.
    `selected` is the chosen result dict."""

    def show_sweep(self, values: list, value, description: str) -> None:
        """Build the slider over `values`, lay it out above the figure, wire it and draw the default view."""
        self.slider = sweep_slider(values, value, description)
        self.ui = widgets.VBox([self.slider, self.output])
        self.observe(self.slider)
        self.redraw()

    @property
    def selected(self) -> dict:
        return self.results[self.slider.value]
