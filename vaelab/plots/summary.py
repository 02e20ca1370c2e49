"""Summary figures: the numbers of a notebook's result table as bars with their standard errors.

gap_bars: the amortization and approximation gaps per model (notebook 03). summary_bars: any table of
per-model metrics (notebook 05's training modes, notebook 07's priors), one panel per metric, a chance line
on the probe accuracy. They draw the numbers they are given and compute nothing."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ._style import CHANCE, COLORS, LEGEND, TITLE, chance_line, finish, given, new_figure, style_axes

# metric -> (panel title, unit on the value axis)
SUMMARY_METRICS = {"iw_nll": ("-log p(x)", "nats per example"), "elbo": ("ELBO", "nats per example"),
                   "kl": ("KL(q(z|x) ‖ p(z))", "nats per example"), "mi": ("I(x; z)", "nats"),
                   "active_units": ("active units", "dimensions"), "probe_acc": ("probe accuracy", "fraction correct"),
                   "refinement gain": ("ELBO gain of the refinement", "nats per example"), "ppl": ("perplexity", ""),
                   "rec": ("reconstruction", "nats per example"), "mmd_prior": ("MMD²(q(z), p(z))", "IMQ kernel")}


FROM_ZERO = {"kl", "mi", "active_units", "probe_acc", "refinement gain", "mmd_prior"}   # bars; the other metrics as points


def _row_height(n: int) -> float:
    return 1.3 + 0.55 * n            # inches: room for n bars whose 14 pt labels sit one per bar


def gap_bars(rows, title: str | None = "The gap between log p(x) and the encoder's ELBO",
             unit: str = "nats per example", width: float = 13.0):
    """One horizontal stacked bar per model: the approximation gap log p(x) - ELBO[q*] (blue), then the
    amortization gap ELBO[q*] - ELBO[q] (orange) stacked on it, so the bar's end is log p(x) - ELBO[q].
    Each segment ends in its ± 1 standard-error bar.

    rows: [{label, approx, approx_se, amort, amort_se}] in nats (e.g. from metrics.inference_gaps:
    approximation_gap, amortization_gap and their _se). Optional approx_full: the approximation gap of the
    full-covariance q*, marked with a black bar inside the blue segment."""
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: pass [{'label', 'approx', 'approx_se', 'amort', 'amort_se'}, ...]")
    missing = [k for k in ("label", "approx", "amort") if k not in rows[0]]
    if missing:
        raise ValueError(f"each row needs label, approx and amort (nats); the first lacks {missing}")
    approx = np.array([float(r["approx"]) for r in rows])
    amort = np.array([float(r["amort"]) for r in rows])
    y = np.arange(len(rows))[::-1]
    fig, axes = new_figure(width, _row_height(len(rows)) + 1.4 + (0.5 if title else 0))
    ax = axes[0, 0]
    err = dict(capsize=6, error_kw={"lw": 2})
    a = ax.barh(y, approx, xerr=[r.get("approx_se", 0.0) for r in rows], color=COLORS["approx"], height=0.6,
            label="approximation gap: log p(x) - ELBO[q*]", **err)
    b = ax.barh(y, amort, left=approx, xerr=[r.get("amort_se", 0.0) for r in rows], color=COLORS["amort"], height=0.6,
            label="amortization gap: ELBO[q*] - ELBO[q]", **err)
    if any("approx_full" in r for r in rows):
        full = [(yi, float(r["approx_full"])) for yi, r in zip(y, rows) if "approx_full" in r]
        (c,) = ax.plot([f for _, f in full], [yi for yi, _ in full], "|", color="black", ms=34, mew=3,
                       label="approximation gap, full-covariance q*")
    ax.set_yticks(y, [str(r["label"]) for r in rows])
    ax.axvline(0.0, color="black", lw=1)
    ax.margins(x=0.08)
    style_axes(ax, title=title, xlabel=f"gap [{unit}]")
    ax.grid(False, axis="y")
    handles = [a, b] + ([c] if any("approx_full" in r for r in rows) else [])
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=LEGEND, frameon=False, markerscale=0.5)
    return finish(fig)


def summary_bars(rows, metrics=("iw_nll", "kl", "mi", "active_units", "probe_acc"), label: str = "label",
                 chance: float | None = None, units: dict | None = None, title: str | None = None,
                 panel_width: float = 3.1):
    """A result table as bars: one panel per metric (side by side, sharing the row names on the left), one
    horizontal bar per row with ± 1 standard-error bars where rows carry `<metric>_se` (likelihoods as points
    with error bars: their differences are small beside their size).

    rows: [{label: name, metric: value, metric_se: se, ...}] (e.g. a DataFrame's to_dict('records') with a
    label column). chance: the probe accuracy's chance level (a dashed line labelled "chance"); default the
    rows' `probe_chance`. units: {metric: unit} to replace the defaults of SUMMARY_METRICS (e.g.
    {'iw_nll': 'nats per sentence'})."""
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty")
    if any(label not in r for r in rows):
        raise ValueError(f"every row needs its name under label={label!r}; the first row has {sorted(rows[0])}")
    metrics = [m for m in metrics if any(m in r for r in rows)]
    if not metrics:
        raise ValueError("none of the metrics asked for are in the rows; they have " + ", ".join(sorted(rows[0])))
    n = len(rows)
    y = np.arange(n)[::-1]
    fig, axes = new_figure(panel_width * len(metrics) + 2.6, _row_height(n) + 1.4 + (0.5 if title else 0),
                           ncols=len(metrics), sharey=True)
    level = given(chance) if chance is not None else given(rows[0].get("probe_chance"))
    for ax, key in zip(axes[0], metrics):
        name, unit = SUMMARY_METRICS.get(key, (key, ""))
        unit = (units or {}).get(key, unit)
        err = [r.get(f"{key}_se", 0.0) for r in rows] if any(f"{key}_se" in r for r in rows) else None
        values = [float(r.get(key, np.nan)) for r in rows]
        if key in FROM_ZERO:
            ax.barh(y, values, xerr=err, capsize=5, height=0.6, color=COLORS.get(key, "#9467bd"), error_kw={"lw": 2})
        else:       # a likelihood: differences of tenths of a nat on top of tens, so points, not bars from 0
            ax.errorbar(values, y, xerr=err, fmt="o", ms=11, color=COLORS.get(key, "#555555"), ecolor="black",
                        capsize=6, lw=2)
        if key == "probe_acc" and level is not None:
            chance_line(ax, level, orientation="v")
            ax.set_xlim(0, 1.0)
        ax.margins(x=0.1)
        ax.locator_params(axis="x", nbins=4)
        style_axes(ax, title=name, xlabel=unit)
        ax.grid(False, axis="y")
    axes[0, 0].set_yticks(y, [str(r[label]) for r in rows])
    if "probe_acc" in metrics and level is not None:
        fig.legend(handles=[Line2D([], [], label="chance", **CHANCE)], loc="outside lower right", fontsize=LEGEND,
                   frameon=False)
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)
