"""Shared look for every vaelab figure: type readable from the back of a lecture room, no pyplot state.

Figures are built with matplotlib.figure.Figure directly, not pyplot, so nothing is registered with
pyplot's figure manager: a figure is freed when the last reference goes, and a notebook never piles up
open figures. Jupyter's inline backend still displays them (the last expression of a cell, or display(fig)).

Every public plot function ends with `finish(fig)` (or `finish(ax)` for the draw_* helpers): one place
that sets the tick-label size of every axes and lifts any text below MIN_FONT (matplotlib's 10 pt defaults:
colourbar ticks, offset texts, legend titles) to it, so no figure can ship small type.
"""
from __future__ import annotations

import textwrap

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

MIN_FONT = 14  # points at the figure's default size: the smallest type a projected slide can carry
TITLE = 18
LABEL = 16
TICK = 14
LEGEND = 14
DPI = 100
COLORS = {"rec": "#1f77b4", "kl": "#d62728", "loss": "#333333", "elbo": "#2ca02c", "highlight": "#ff7f0e",
          "mi": "#9467bd", "active_units": "#8c564b", "probe_acc": "#17becf", "iw_nll": "#555555",
          "approx": "#1f77b4", "amort": "#ff7f0e"}
CHANCE = {"color": "black", "ls": "--", "lw": 2.0}   # the look of every "chance" line of a probe accuracy
CHAR_WIDTH = 0.62     # width of an average character of the default font, in em: for laying out tick labels


def new_figure(width: float = 9.0, height: float = 5.0, nrows: int = 1, ncols: int = 1, **subplot_kw):
    """(figure, axes array of shape (nrows, ncols)) with constrained layout. sharex / sharey and
    width_ratios / height_ratios go to Figure.subplots; anything else to each axes."""
    grid_kw = {k: subplot_kw.pop(k) for k in ("sharex", "sharey", "width_ratios", "height_ratios")
               if k in subplot_kw}
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    # a little more air between panels than matplotlib's default, so that the end labels of neighbouring
    # panels (a "3" beside a "-3") do not read as one number from the back of the room
    fig.get_layout_engine().set(w_pad=0.06, h_pad=0.06, wspace=0.04, hspace=0.04)
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or None, **grid_kw)
    return fig, axes


def style_axes(ax, title: str | None = None, xlabel: str | None = None, ylabel: str | None = None, grid=True):
    if title:
        ax.set_title(title, fontsize=TITLE)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=LABEL)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=LABEL)
    ax.tick_params(labelsize=TICK)
    if grid:
        ax.grid(True, alpha=0.3)
    return ax


def finish(target):
    """Apply the shared type sizes to a figure (every axes and text on it), or to one axes only (the draw_*
    helpers, which may draw on a caller's figure), and return `target`."""
    whole = isinstance(target, Figure) or not hasattr(target, "tick_params")
    for ax in (target.axes if whole else [target]):
        ax.tick_params(which="both", labelsize=TICK)
    for text in target.findobj(Text):
        if text.get_fontsize() < MIN_FONT:
            text.set_fontsize(MIN_FONT)
    return target


def chance_line(ax, level: float, orientation: str = "h"):
    """The labelled reference line of a probe accuracy: what always guessing the majority class scores."""
    line = (ax.axhline if orientation == "h" else ax.axvline)(float(level), label="chance", zorder=5, **CHANCE)
    return line


def fit_labels(labels, slot_inches: float, fontsize: float = TICK):
    """Category tick labels that fit side by side in slots `slot_inches` wide: (labels, rotation).

    Kept horizontal when the longest fits; else wrapped at spaces and underscores onto at most two lines
    when that fits; else left whole and turned 45 degrees (the caller anchors them at their right end)."""
    labels = [str(s) for s in labels]
    fits = int(slot_inches * 72 * 0.9 / (CHAR_WIDTH * fontsize))          # characters per slot
    if max((len(s) for s in labels), default=0) <= fits:
        return labels, 0
    # break after underscores and at spaces, never inside a word
    wrapped = [textwrap.fill(s.replace("_", "_ "), max(fits, 1), break_long_words=False).replace("_ ", "_")
               for s in labels]
    if all(max(len(line) for line in w.split("\n")) <= fits and w.count("\n") <= 1 for w in wrapped):
        return wrapped, 0
    return labels, 45


def category_xticks(ax, positions, labels, slot_inches: float, fontsize: float = TICK):
    """Put category labels under `positions`, wrapped or turned (fit_labels) so that no two overlap."""
    text, rotation = fit_labels(labels, slot_inches, fontsize)
    if rotation:
        ax.set_xticks(positions, text, rotation=rotation, ha="right", rotation_mode="anchor", fontsize=fontsize)
    else:
        ax.set_xticks(positions, text, fontsize=fontsize)
    return ax


def given(value) -> float | None:
    """A number from a table cell, or None where the cell is missing or NaN (pandas fills absent columns with
    NaN when text and image rows share one DataFrame)."""
    if value is None:
        return None
    value = float(value)
    return None if np.isnan(value) else value


def to_numpy(a) -> np.ndarray:
    if torch.is_tensor(a):
        return a.detach().to("cpu", torch.float32).numpy()
    return np.asarray(a, dtype=np.float32)
