"""Shared look for every vaelab figure: large type for a projector, no pyplot state.

Figures are built with matplotlib.figure.Figure directly, not pyplot, so nothing is registered with
pyplot's figure manager: a figure is freed when the last reference goes, and a notebook never piles up
open figures. Jupyter's inline backend still displays them (the last expression of a cell, or display(fig)).
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

TITLE = 18     # points: readable from the back of a lecture room at the default sizes below
LABEL = 16
TICK = 14
LEGEND = 13
DPI = 100
COLORS = {"rec": "#1f77b4", "kl": "#d62728", "loss": "#333333", "elbo": "#2ca02c", "highlight": "#ff7f0e"}


def new_figure(width: float = 9.0, height: float = 5.0, nrows: int = 1, ncols: int = 1, **subplot_kw):
    """(figure, axes array of shape (nrows, ncols)) with constrained layout."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw or None)
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


def to_numpy(a) -> np.ndarray:
    if torch.is_tensor(a):
        return a.detach().to("cpu", torch.float32).numpy()
    return np.asarray(a, dtype=np.float32)
