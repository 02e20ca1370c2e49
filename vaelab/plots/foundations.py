"""Figures of the foundations: two gradient estimators side by side (notebook 01) and the importance-weighted
bound climbing towards log p(x) as the number of samples S grows (notebook 03). They draw the numbers they are
given (metrics.foundations computes them) and compute nothing but the axis ranges."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ._style import COLORS, LEGEND, TITLE, finish, new_figure, style_axes, to_numpy

ESTIMATOR_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
EXACT = {"color": "black", "ls": "--", "lw": 2.5}


def gradient_estimator_view(rows: dict, exact: float, xlabel: str = "single-sample estimate of the gradient",
                            title: str | None = None, clip: tuple[float, float] = (1.0, 99.0), bins: int = 60,
                            width: float = 12.0, panel_height: float = 2.9):
    """One histogram per estimator, stacked on one shared x-axis, with the exact value as a dashed line.

    rows: {label: (estimates (n,), mean, se)}: the single-sample estimates of one estimator and the mean and
    standard error of their average (e.g. metrics.mean_se), shown in the legend. exact: the true gradient.
    The x-axis spans the `clip` percentiles of all estimates pooled (heavy tails would squash the picture);
    the number of estimates beyond it is written in each panel's legend."""
    if not rows:
        raise ValueError("rows is empty: pass {label: (estimates, mean, se)}")
    values = {k: to_numpy(v[0]).ravel().astype(np.float64) for k, v in rows.items()}
    pooled = np.concatenate(list(values.values()))
    lo, hi = np.percentile(pooled, clip)
    lo, hi = min(lo, exact), max(hi, exact)
    pad = 0.03 * (hi - lo or 1.0)
    edges = np.linspace(lo - pad, hi + pad, bins + 1)
    fig, axes = new_figure(width, 0.9 + panel_height * len(rows) + (0.5 if title else 0), nrows=len(rows),
                           sharex=True)
    for i, (ax, (label, (_, mean, se))) in enumerate(zip(axes[:, 0], rows.items())):
        v = values[label]
        outside = int(((v < edges[0]) | (v > edges[-1])).sum())
        color = ESTIMATOR_COLORS[i % len(ESTIMATOR_COLORS)]
        sd = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
        ax.hist(v[(v >= edges[0]) & (v <= edges[-1])], edges, color=color, alpha=0.75,
                label=f"{v.size} estimates: sd {sd:.2f}" + (f" ({outside} beyond the axis)" if outside else ""))
        ax.axvline(float(mean), color=color, lw=3, label=f"their mean {float(mean):.3f} ± {float(se):.3f} (SE)")
        ax.axvline(float(exact), label=f"exact value {exact:g}", zorder=5, **EXACT)     # on top of the mean
        style_axes(ax, title=label, ylabel="count")
        ax.legend(fontsize=LEGEND, loc="upper right", framealpha=0.9)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.55)          # room for the legend above the bars
    style_axes(axes[-1, 0], xlabel=xlabel)
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)


def iw_bound_view(sizes, panels, unit: str = "nats per image", title: str | None = None, ncols: int | None = None,
                  panel_width: float = 6.2, panel_height: float = 4.2):
    """ℒ_S against S (log scale), one panel per example: a line with a ± 1 SE band, and the true log p(x) as a
    dashed horizontal line, so the bound is seen climbing towards it.

    sizes: the S values (K,). panels: [{title, bound (K,), se (K,), log_px (float), log_px_label (optional,
    default 'log p(x) by quadrature')}] in nats. Panels keep their own y-axis (examples differ by many nats)."""
    panels = list(panels)
    if not panels:
        raise ValueError("panels is empty: pass [{'title', 'bound', 'se', 'log_px'}, ...]")
    s = to_numpy(sizes).astype(np.float64)
    for p in panels:
        if len(to_numpy(p["bound"])) != len(s) or len(to_numpy(p["se"])) != len(s):
            raise ValueError(f"each panel needs bound and se of length len(sizes) = {len(s)}; panel "
                             f"{p.get('title')!r} has {len(to_numpy(p['bound']))} and {len(to_numpy(p['se']))}")
    ncols = ncols or (len(panels) if len(panels) <= 3 else 2)
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = new_figure(panel_width * ncols, panel_height * nrows + 1.0 + (0.5 if title else 0),
                           nrows=nrows, ncols=ncols, sharex=True)
    handles = []
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.set_axis_off()
            continue
        p = panels[k]
        b, se = to_numpy(p["bound"]).astype(np.float64), to_numpy(p["se"]).astype(np.float64)
        band = ax.fill_between(s, b - se, b + se, color=COLORS["elbo"], alpha=0.25, label="± 1 SE over repeats")
        (line,) = ax.plot(s, b, "o-", color=COLORS["elbo"], lw=2.5, ms=6,
                          label=r"importance-weighted bound $\mathcal{L}_S$")
        ref = ax.axhline(float(p["log_px"]), label=p.get("log_px_label", "log p(x) by quadrature"), **EXACT)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))     # 1, 10, 100, not 10^0
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.margins(y=0.12)
        row, col = divmod(k, ncols)
        style_axes(ax, title=p.get("title"), xlabel="S (importance samples)" if row == nrows - 1 else None,
                   ylabel=rf"$\mathcal{{L}}_S$ [{unit}]" if col == 0 else None)
        handles = [line, band, ref]
    if title:
        fig.suptitle(title, fontsize=TITLE)
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=LEGEND, frameon=False)
    return finish(fig)
