"""Posterior-collapse figures: training curves with the latent-usage diagnostics, KL per dimension, and the
remedies compared on a grid (one row per metric, one column per decoder, chance lines on the probes)."""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ._style import (CHANCE, COLORS, LEGEND, TITLE, category_xticks, chance_line, finish, given, new_figure,
                     style_axes)

USAGE_PANELS = (("rec", "Reconstruction -log p(x|z)", "nats"), ("kl", "KL(q(z|x) || p(z))", "nats"),
                ("mi", "Mutual information I(x; z)", "nats"))
# metric -> (panel title, unit on the y axis); {per} is filled with "sentence" or "image"
METRICS = {"kl": ("KL(q(z|x) ‖ p(z))", "nats per {per}"), "mi": ("mutual information I(x; z)", "nats"),
           "active_units": ("active units", "dimensions"), "probe_acc": ("probe accuracy", "fraction correct"),
           "iw_nll": ("-log p(x)", "nats per {per}"), "ppl": ("perplexity", "per token"),
           "elbo": ("ELBO", "nats per {per}")}
FROM_ZERO = {"kl", "mi", "active_units", "probe_acc"}     # drawn as bars; the others as points with error bars
BASELINE = "none"            # the remedy row drawn in grey: the plain ELBO every remedy is compared with
BASELINE_COLOR = "#9a9a9a"


def _column(rows, key):
    pts = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(rows) if key in r]
    return zip(*pts) if pts else ((), ())


def collapse_view(history, title: str | None = None, compare=None, compare_label: str = "plain ELBO",
                  label: str = "this run"):
    """Four panels from a History trained with diagnostics=True: rec, KL and MI per epoch (with the KL
    weight dotted, on the right axis of the KL panel), and KL per latent dimension at the last epoch.
    compare: another History drawn dashed grey. One legend for the figure, above the panels."""
    rows = list(history)
    if not rows:
        raise ValueError("history is empty: train for at least one epoch first")
    if "kl_per_dim" not in rows[-1]:
        raise ValueError("the history has no kl_per_dim: train with diagnostics=True (TrainConfig(diagnostics=True))")
    fig, axes = new_figure(18, 5.4, ncols=4)
    handles = []
    for ax, (key, name, unit) in zip(axes[0], USAGE_PANELS):
        ep, val = _column(rows, key)
        (h,) = ax.plot(ep, val, "-o", color=COLORS.get(key, "#9467bd"), lw=2.5, ms=4, label=label)
        handles = handles or [h]
        if compare is not None:
            ep2, val2 = _column(list(compare), key)
            (h2,) = ax.plot(ep2, val2, "--", color="#777777", lw=2, label=compare_label)
            handles = handles if len(handles) > 1 else handles + [h2]
        if key == "kl":
            ep_w, w = _column(rows, "kl_weight")
            twin = ax.twinx()
            (hw,) = twin.plot(ep_w, w, ":", color="#999999", lw=2.5, label="KL weight (right axis)")
            twin.set_ylim(0, 1.05)
            twin.set_yticks([0, 0.5, 1])
            style_axes(twin, ylabel="KL weight", grid=False)
        style_axes(ax, title=name, xlabel="epoch", ylabel=unit)
    kl = np.asarray(rows[-1]["kl_per_dim"], dtype=float)
    ax = axes[0][3]
    ax.bar(np.arange(len(kl)), kl, color=COLORS["kl"])
    style_axes(ax, title=f"KL per dim (AU = {rows[-1].get('active_units', '?')})", xlabel="latent dimension",
               ylabel="nats")
    fig.legend(handles=handles + [hw], loc="outside lower center", ncol=3, fontsize=LEGEND, frameon=False)
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)


def _variants(rows):
    out = {}
    for r in rows:
        out.setdefault(r.get("variant", "default"), []).append(r)
    return out


def remedies_grid(rows, metrics=("kl", "active_units", "probe_acc", "iw_nll"), title: str | None = None,
                  chance=None, per=None, titles=None, panel_width: float = 5.6, panel_height: float = 2.2):
    """The remedies side by side: one row of panels per metric, one column per decoder variant (text and
    image runs never share an axis), one bar per remedy with ± 1 standard-error bars where the rows carry
    `<metric>_se` (-log p(x) as points: its differences are small beside its size); the plain-ELBO row
    ('none') in grey.

    rows: the dicts of vaelab.train.remedy_table (remedy, variant, kl, kl_se, active_units, probe_acc,
    probe_acc_se, probe_chance, iw_nll, iw_nll_se, ...). chance: the probe's chance level, a number or
    {variant: number}; default each variant's `probe_chance` (a dashed line labelled "chance").
    per: {variant: "sentence" | "image"} for the units (default: "sentence" where rows carry ppl, else "image").
    titles: {variant: column title} (default "<variant> decoder")."""
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: pass vaelab.train.remedy_table(...)")
    metrics = [m for m in metrics if any(m in r for r in rows)]
    if not metrics:
        raise ValueError("none of the metrics asked for are in the rows; they have " + ", ".join(sorted(rows[0])))
    groups = _variants(rows)
    nrow, ncol = len(metrics), len(groups)
    fig, axes = new_figure(panel_width * ncol + 1.0, panel_height * nrow + 2.6 + (0.5 if title else 0),
                           nrows=nrow, ncols=ncol, sharex="col")
    drew_chance = False
    for j, (variant, group) in enumerate(groups.items()):
        unit_noun = (per or {}).get(variant, "sentence" if any(given(r.get("ppl")) is not None for r in group)
                                    else "image")
        header = (titles or {}).get(variant, f"{variant} decoder")
        pos = np.arange(len(group))
        for i, key in enumerate(metrics):
            ax = axes[i, j]
            name, unit = METRICS.get(key, (key, ""))
            values = [r.get(key, np.nan) for r in group]
            err = [r.get(f"{key}_se", 0.0) for r in group] if any(f"{key}_se" in r for r in group) else None
            colors = [BASELINE_COLOR if r.get("remedy") == BASELINE else COLORS.get(key, "#9467bd") for r in group]
            if key in FROM_ZERO:
                ax.bar(pos, values, yerr=err, capsize=5, color=colors, error_kw={"lw": 2})
            else:       # a likelihood: its differences are tenths of a nat on top of tens, so dots, not bars from 0
                ax.errorbar(pos, values, yerr=err, fmt="none", ecolor="black", capsize=6, lw=2)
                ax.scatter(pos, values, s=110, color=colors, zorder=3)
            if key == "probe_acc":
                level = given(chance.get(variant) if isinstance(chance, dict) else chance)
                level = given(group[0].get("probe_chance")) if level is None else level
                if level is not None:
                    chance_line(ax, level)
                    drew_chance = True
                ax.set_ylim(0, 1.0)
            style_axes(ax, title=f"{header}\n{name}" if i == 0 else name, ylabel=unit.format(per=unit_noun))
            ax.margins(y=0.15)
        category_xticks(axes[-1, j], pos, [r.get("remedy", "?") for r in group], panel_width * 0.8 / len(group))
    if drew_chance:
        fig.legend(handles=[Line2D([], [], label="chance", **CHANCE)], loc="outside lower right",
                   fontsize=LEGEND, frameon=False)
    if title:
        fig.suptitle(title, fontsize=TITLE + 2)
    return finish(fig)


def remedy_bars(rows, metrics=("kl", "active_units", "probe_acc", "iw_nll"), title: str | None = None, **kw):
    """The remedies grid under its first name (notebook 02): see remedies_grid for the figure and the options."""
    return remedies_grid(rows, metrics, title, **kw)
