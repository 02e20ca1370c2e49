"""Figures of the latent-space explorer: a 2-D map (projected codes with posterior ellipses), and decoded
"items" that are images (N, C, H, W) or sentences (a list of str), as grids, traversals, paths and
neighbour lists. Data in, figure out: the projections and decodings come from vaelab.metrics."""
from __future__ import annotations

import numpy as np

from matplotlib.figure import Figure

from ._style import DPI, LABEL, LEGEND, TICK, TITLE, finish, new_figure, style_axes, to_numpy
from .images import as_images, draw_grid
from .latent import draw_scatter
from .posterior import draw_gaussian

ELLIPSE_COLOR = "#d62728"


def is_text(items) -> bool:
    return isinstance(items, (list, tuple)) and all(isinstance(s, str) for s in items)


def count(items) -> int:
    return len(items) if is_text(items) else as_images(items).shape[0]


def draw_sentences(ax, sentences, title: str | None = None, row_labels=None, fontsize: float = TICK):
    """One sentence per line, top to bottom, each optionally preceded by a short label (e.g. t = 0.5)."""
    sentences = list(sentences)
    if row_labels is not None and len(row_labels) != len(sentences):
        raise ValueError(f"row_labels must have one entry per sentence ({len(sentences)}), got {len(row_labels)}")
    ax.set_axis_off()
    n = max(len(sentences), 1)
    for i, s in enumerate(sentences):
        y = 1 - (i + 0.5) / n
        if row_labels is not None:
            ax.text(0.0, y, str(row_labels[i]), ha="left", va="center", fontsize=fontsize, color="#b00000",
                    family="monospace", transform=ax.transAxes)
        ax.text(0.16 if row_labels is not None else 0.0, y, s or "(empty)", ha="left", va="center",
                fontsize=fontsize, transform=ax.transAxes)
    if title:
        ax.set_title(title, fontsize=TITLE, loc="left")
    return finish(ax)


def draw_items(ax, items, ncol: int | None = None, title: str | None = None, captions=None):
    """Images as a mosaic (captions under the tiles), sentences as lines (captions as line labels)."""
    if is_text(items):
        return draw_sentences(ax, items, title, captions)
    return draw_grid(ax, items, ncol, title=title, captions=captions)


def item_grid(items, ncol: int | None = None, title: str | None = None, captions=None, width: float = 12.0):
    """A figure of decoded items: an image grid (about square unless ncol is given) or a list of sentences."""
    if is_text(items):
        fig, axes = new_figure(width, 0.9 + 0.42 * max(len(items), 1))
        draw_sentences(axes[0, 0], items, title, captions)
        return finish(fig)
    from .images import image_grid

    return image_grid(items, ncol, title, captions, width=min(width, 1.1 * (ncol or np.ceil(np.sqrt(count(items)))) + 1))


def draw_map(ax, points, labels=None, axes=("$z_1$", "$z_2$"), highlight=None, ellipses=None, marker=None,
             title: str | None = None, legend: bool = True, point_size: float = 14.0):
    """A 2-D map of codes (N, 2) coloured by label, with optional rings (`highlight` indices), posterior
    ellipses (a list of (mean (2,), covariance (2, 2)), their 1- and 2-sigma contours) and a marker."""
    draw_scatter(ax, points, labels, highlight=highlight, marker=marker, title=title, point_size=point_size,
                 legend=legend)
    for k, (m, c) in enumerate(ellipses or []):
        draw_gaussian(ax, to_numpy(m).ravel(), to_numpy(c), "q(z|x)" if k == 0 else None, ELLIPSE_COLOR)
    style_axes(ax, xlabel=axes[0], ylabel=axes[1])
    if ellipses:
        ax.legend(handles=[p for p in ax.patches[:1]], fontsize=LEGEND, loc="upper left")
    return finish(ax)


def map_view(points, labels=None, axes=("$z_1$", "$z_2$"), highlight=None, ellipses=None, marker=None,
             items=None, items_title: str | None = None, title: str | None = None, width: float = 15.0):
    """The map beside what a chosen point decodes to (images or sentences); items None: the map alone."""
    if items is None:
        fig, ax = new_figure(width * 0.6, width * 0.45)
        draw_map(ax[0, 0], points, labels, axes, highlight, ellipses, marker, title)
        return finish(fig)
    fig, ax = new_figure(width, width * 0.42, ncols=2)
    draw_map(ax[0, 0], points, labels, axes, highlight, ellipses, marker, title)
    draw_items(ax[0, 1], items, ncol=None if is_text(items) else min(count(items), 4), title=items_title)
    return finish(fig)


def traversal_view(items, dims, values, kl=None, title: str | None = None, width: float = 15.0):
    """Rows: the latent dims varied (e.g. the top-KL ones); columns: the values given to that dim.
    items: len(dims) * len(values) decoded items in row order (images (R*C, C, H, W) or sentences)."""
    r, c = len(dims), len(values)
    if count(items) != r * c:
        raise ValueError(f"items must hold len(dims) * len(values) = {r * c} decodings, got {count(items)}")
    names = [f"z{j + 1}" + (f" ({float(kl[j]):.1f} nats)" if kl is not None else "") for j in dims]
    title = title or "Traversal: one dimension at a time, the others held fixed"
    vals = [f"{float(v):+.1f}" for v in values]
    if is_text(items):
        fig, ax = new_figure(width, 1.2 + 0.45 * r * c)
        labels = [f"{names[i // c].split(' ')[0]}={vals[i % c]}" for i in range(r * c)]
        draw_sentences(ax[0, 0], items, title, labels)
        return finish(fig)
    a = as_images(items)
    tile = width / (c + 2)
    fig, ax = new_figure(width, max(2.5, tile * r * a.shape[1] / a.shape[2] + 1.4))
    draw_grid(ax[0, 0], a, ncol=c, title=title)
    h = a.shape[1]
    ax[0, 0].set_yticks([1 + i * (h + 1) + (h - 1) / 2 for i in range(r)], names, fontsize=TICK)
    ax[0, 0].set_xticks([1 + i * (a.shape[2] + 1) + (a.shape[2] - 1) / 2 for i in range(c)], vals, fontsize=TICK)
    ax[0, 0].tick_params(length=0)
    ax[0, 0].set_xlabel("value given to the dimension of the row", fontsize=LABEL)
    return finish(fig)


def path_view(paths: dict, t, ends=None, title: str | None = None, width: float = 15.0):
    """Decodings along several latent paths between two codes, one row per path ({name: items}), at
    times t (S,). ends: optional (start item, end item) shown as their own row or line."""
    tt = [f"{float(v):.2g}" for v in to_numpy(t).ravel()]
    first = next(iter(paths.values()))
    title = title or "Decoded along the path from A (t = 0) to B (t = 1)"
    if is_text(first):
        fig, axes = new_figure(width, 1.2 + len(paths) * (0.5 * len(tt) + 0.7), nrows=len(paths))
        for ax, (name, items) in zip(axes[:, 0], paths.items()):
            draw_sentences(ax, items, name, [f"t={v}" for v in tt])
        fig.suptitle(title, fontsize=TITLE)
        return finish(fig)
    s = len(tt)
    tile = width / (s + 1)
    fig, axes = new_figure(width, len(paths) * (tile + 0.8) + 1.0, nrows=len(paths))
    for ax, (name, items) in zip(axes[:, 0], paths.items()):
        draw_grid(ax, items, ncol=s, ylabel=name, captions=tt)
    fig.suptitle(title, fontsize=TITLE)
    return finish(fig)


def neighbours_view(query, neighbours, distances, query_title: str = "query", width: float = 15.0):
    """One item and its nearest neighbours in latent space (items of the same kind), with distances."""
    caps = [f"{float(d):.2f}" for d in to_numpy(distances).ravel()]
    if count(neighbours) != len(caps):
        raise ValueError(f"distances must have one entry per neighbour ({count(neighbours)}), got {len(caps)}")
    if is_text(neighbours):
        fig = Figure(figsize=(width, 1.6 + 0.45 * (len(caps) + 1)), dpi=DPI, layout="constrained")
        axes = fig.subplots(2, 1, squeeze=False, height_ratios=[1.4, len(caps)])
        draw_sentences(axes[0, 0], list(query), query_title)
        draw_sentences(axes[1, 0], neighbours, "nearest in latent space (distance)", caps)
        return finish(fig)
    n = len(caps)
    fig = Figure(figsize=(width, max(2.8, width / (n + 2) + 1.6)), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 2, squeeze=False, width_ratios=[1, n])
    draw_grid(axes[0, 0], query, ncol=1, title=query_title)
    draw_grid(axes[0, 1], neighbours, ncol=n, title="nearest in latent space (distance below)", captions=caps)
    return finish(fig)


def compare_maps(maps: list, width: float = 16.0, share: bool = True):
    """Maps side by side: each a dict with points (N, 2), labels, axes (two titles) and title, and optionally
    highlight (indices), ellipses ([(mean (2,), cov (2, 2))]) and marker (2,). share: one set of x and y
    limits for every panel (equal aspect), so that a map that shrinks (a β-VAE's, an MMD-VAE's posteriors)
    looks smaller than its neighbour instead of being blown up to fill its panel. The label legend is drawn
    once, beside the last panel."""
    n = max(len(maps), 1)
    side = (width - 1.8 - 0.9 * n) / n           # a square panel per map, beside the label legend
    fig, axes = new_figure(width, side + 1.4, ncols=n, sharex=share, sharey=share)
    for k, (ax, m) in enumerate(zip(axes[0], maps)):
        draw_map(ax, m["points"], m.get("labels"), m.get("axes", ("$z_1$", "$z_2$")), highlight=m.get("highlight"),
                 ellipses=m.get("ellipses"), marker=m.get("marker"), title=m.get("title"),
                 legend=k == len(maps) - 1, point_size=10)
        if share:
            ax.set_aspect("equal", adjustable="box")     # shared limits: the boxes, not the limits, adapt
            ax.tick_params(labelleft=True)               # each panel keeps its own numbers: they are read alone
    return finish(fig)


def compare_items(columns: dict, row_labels=None, title: str | None = None, width: float = 16.0):
    """Decodings of two (or more) models side by side: {model name: items}, one column each."""
    n = max(count(v) for v in columns.values())
    text = all(is_text(v) for v in columns.values())
    # a line of 14 pt text needs about 0.45 in; an image tile in a column about 0.9 in to be seen
    fig, axes = new_figure(width if text else min(width, 3.0 * len(columns)), 1.4 + (0.45 if text else 0.9) * n,
                           ncols=len(columns))
    for ax, (name, items) in zip(axes[0], columns.items()):
        draw_items(ax, items, ncol=1 if not is_text(items) else None, title=name,
                   captions=row_labels if is_text(items) else None)
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)


__all__ = ["compare_items", "compare_maps", "draw_items", "draw_map", "draw_sentences", "item_grid", "map_view",
           "neighbours_view", "path_view", "traversal_view"]
