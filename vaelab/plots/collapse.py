"""Posterior-collapse figures: training curves with the latent-usage diagnostics, KL per dimension,
and the remedies compared side by side."""
from __future__ import annotations

import numpy as np

from ._style import COLORS, LEGEND, new_figure, style_axes

USAGE_PANELS = (("rec", "Reconstruction -log p(x|z)", "nats"), ("kl", "KL(q(z|x) || p(z))", "nats"),
                ("mi", "Mutual information I(x; z)", "nats"))


def _column(rows, key):
    pts = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(rows) if key in r]
    return zip(*pts) if pts else ((), ())


def collapse_view(history, title: str | None = None, compare=None, compare_label: str = "plain ELBO",
                  label: str = "this run"):
    """Four panels from a History trained with diagnostics=True: rec, KL and MI per epoch (with the KL
    weight in grey), and KL per latent dimension at the last epoch. compare: another History drawn dashed."""
    rows = list(history)
    if not rows:
        raise ValueError("history is empty: train for at least one epoch first")
    if "kl_per_dim" not in rows[-1]:
        raise ValueError("the history has no kl_per_dim: train with diagnostics=True (TrainConfig(diagnostics=True))")
    fig, axes = new_figure(17, 4.4, ncols=4)
    for ax, (key, name, unit) in zip(axes[0], USAGE_PANELS):
        ep, val = _column(rows, key)
        ax.plot(ep, val, "-o", color=COLORS.get(key, "#9467bd"), lw=2.5, ms=4, label=label)
        if compare is not None:
            ep2, val2 = _column(list(compare), key)
            ax.plot(ep2, val2, "--", color="#777777", lw=2, label=compare_label)
        if key == "kl":
            ep_w, w = _column(rows, "kl_weight")
            twin = ax.twinx()
            twin.plot(ep_w, w, ":", color="#999999", lw=2)
            twin.set_ylim(0, 1.05)
            twin.set_ylabel("KL weight (dotted)", fontsize=12)
        style_axes(ax, title=name, xlabel="epoch", ylabel=unit)
    axes[0][0].legend(fontsize=LEGEND)
    kl = np.asarray(rows[-1]["kl_per_dim"], dtype=float)
    ax = axes[0][3]
    ax.bar(np.arange(len(kl)), kl, color=COLORS["kl"])
    style_axes(ax, title=f"KL per dim (AU = {rows[-1].get('active_units', '?')})", xlabel="latent dimension",
               ylabel="nats")
    if title:
        fig.suptitle(title, fontsize=18)
    return fig


def remedy_bars(rows, metrics=("kl", "mi", "probe_acc"), title: str | None = None):
    """One bar panel per metric, one bar per remedy row (the dicts of vaelab.train.remedy_table), with
    ± 1 standard-error bars where the rows carry `<metric>_se`."""
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: pass vaelab.train.remedy_table(...)")
    fig, axes = new_figure(5.2 * len(metrics), 4.6, ncols=len(metrics))
    names = [f"{r['remedy']}" + (f"\n{r['variant']}" if r.get("variant") not in (None, "default") else "")
             for r in rows]
    for ax, key in zip(axes[0], metrics):
        # error bars: the standard error over test examples (remedy_row's <key>_se), where the rows carry it
        err = [r.get(f"{key}_se", 0.0) for r in rows] if any(f"{key}_se" in r for r in rows) else None
        ax.bar(np.arange(len(rows)), [r[key] for r in rows], yerr=err, capsize=4, color=COLORS.get(key, "#9467bd"))
        ax.set_xticks(np.arange(len(rows)), names, rotation=60, ha="right")
        style_axes(ax, title=key)
    if title:
        fig.suptitle(title, fontsize=18)
    return fig
