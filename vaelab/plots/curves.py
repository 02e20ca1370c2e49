"""Curves and bars: training history, the two parts of the ELBO, and the rate-distortion trade-off."""
from __future__ import annotations

import numpy as np

from ._style import COLORS, LEGEND, TICK, TITLE, finish, new_figure, style_axes

PANELS = {
    "loss": ("Training loss", "nats per example"),
    "rec": ("Reconstruction  -log p(x|z)", "nats per example"),
    "kl": ("KL( q(z|x) || p(z) )", "nats per example"),
    "elbo": ("ELBO", "nats per example"),
    "valid_elbo": ("Validation ELBO", "nats per example"),
}


def history_curves(history, keys=("loss", "rec", "kl"), title: str | None = None, width: float = 14.0):
    """One panel per key of a training History (a list of per-epoch dicts), against the epoch.

    rec and KL get their own panels because their scales differ by an order of magnitude.
    """
    rows = list(history)
    if not rows:
        raise ValueError("history is empty: train for at least one epoch first")
    keys = [k for k in keys if any(k in r for r in rows)]
    if not keys:
        raise ValueError(f"none of the keys asked for are in the history; it has {sorted(rows[0])}")
    fig, axes = new_figure(width, 4.6, ncols=len(keys))
    for ax, key in zip(axes[0], keys):
        pts = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(rows) if key in r]
        ep, val = zip(*pts)
        name, unit = PANELS.get(key, (key, ""))
        ax.plot(ep, val, "-o" if len(ep) <= 30 else "-", color=COLORS.get(key.replace("valid_", ""), "#333333"),
                lw=2.5, ms=5)
        style_axes(ax, title=name, xlabel="epoch", ylabel=unit)
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)


def elbo_anatomy(rec, kl, labels=None, title: str | None = "-ELBO = reconstruction + KL", width: float = 12.0):
    """Stacked horizontal bars, one per model: reconstruction cost (blue) plus KL (red) is -ELBO.

    rec, kl: a number each, or equal-length sequences (nats per example). labels: one name per bar.
    """
    rec, kl = np.atleast_1d(np.asarray(rec, dtype=float)), np.atleast_1d(np.asarray(kl, dtype=float))
    if rec.shape != kl.shape or rec.ndim != 1:
        raise ValueError(f"rec and kl must be numbers or sequences of one length, got shapes {rec.shape} and {kl.shape}")
    labels = [f"model {i + 1}" for i in range(len(rec))] if labels is None else [str(s) for s in labels]
    if len(labels) != len(rec):
        raise ValueError(f"labels must have one entry per bar ({len(rec)}), got {len(labels)}")
    fig, axes = new_figure(width, 1.9 + 0.9 * len(rec))
    ax = axes[0, 0]
    y = np.arange(len(rec))[::-1]
    ax.barh(y, rec, color=COLORS["rec"], height=0.6, label="reconstruction  E_q[-log p(x|z)]")
    ax.barh(y, kl, left=rec, color=COLORS["kl"], height=0.6, label="KL( q(z|x) || p(z) )")
    total = rec + kl
    for yi, r, k, t in zip(y, rec, kl, total):
        ax.text(r / 2, yi, f"{r:.1f}", ha="center", va="center", color="white", fontsize=TICK, fontweight="bold")
        ax.text(t + 0.01 * total.max(), yi, f"{k:.1f} KL   = {t:.1f}", ha="left", va="center", fontsize=TICK)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, total.max() * 1.3)
    style_axes(ax, title=title, xlabel="nats per example (lower is better)")
    ax.legend(fontsize=LEGEND, loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(rec) < 3 else -0.2),
              ncol=2, frameon=False)
    return finish(fig)


def draw_rate_distortion(ax, rates, distortions, betas=None, highlight: int | None = None, elbo_lines: bool = True,
                         title: str | None = "Rate-distortion trade-off"):
    """Rate (KL, nats) on x against distortion (reconstruction cost, nats) on y, one point per model.

    betas: a label per point. highlight: index of the point to mark. elbo_lines: dashed lines of constant
    rate + distortion = -ELBO; every point on one line has the same ELBO.
    """
    r, d = np.asarray(rates, dtype=float), np.asarray(distortions, dtype=float)
    if r.shape != d.shape or r.ndim != 1 or r.size == 0:
        raise ValueError(f"rates and distortions must be non-empty sequences of one length, got shapes {r.shape} and {d.shape}")
    if highlight is not None and not 0 <= int(highlight) < r.size:
        raise ValueError(f"highlight must be an index in [0, {r.size - 1}], got {highlight}")
    order = np.argsort(r)
    ax.plot(r[order], d[order], "-o", color="#555555", lw=2.5, ms=10, zorder=3)
    if betas is not None:
        betas = list(betas)
        if len(betas) != r.size:
            raise ValueError(f"betas must have one entry per point ({r.size}), got {len(betas)}")
        for ri, di, b in zip(r, d, betas):
            ax.annotate(f"β={b:g}", (ri, di), textcoords="offset points", xytext=(8, 6), fontsize=TICK)
    if elbo_lines:
        span = max(r.max() - r.min(), d.max() - d.min(), 1.0)
        lo, hi = min(r.min(), 0.0) - 0.1 * span, r.max() + 0.2 * span
        levels = np.unique(np.round(r + d, 1)) if highlight is None else [r[int(highlight)] + d[int(highlight)]]
        for k, level in enumerate(levels):
            xs = np.array([lo, hi])
            name = "equal -ELBO" if highlight is None else "same -ELBO as the marked model"
            ax.plot(xs, level - xs, "--", color=COLORS["elbo"], lw=1.5, alpha=0.8, zorder=1,
                    label=name if k == 0 else None)
        ax.legend(fontsize=LEGEND, loc="lower left", frameon=True)
        ax.set_xlim(lo, hi)
        ax.set_ylim(d.min() - 0.15 * span, d.max() + 0.15 * span)
    if highlight is not None:
        h = int(highlight)
        ax.plot([r[h]], [d[h]], "o", ms=22, mfc=COLORS["highlight"], mec="black", mew=2, zorder=4)
        ax.text(0.97, 0.95, f"rate {r[h]:.2f}\ndistortion {d[h]:.2f}\n-ELBO {r[h] + d[h]:.2f}",
                transform=ax.transAxes, ha="right", va="top", fontsize=TICK,
                bbox=dict(boxstyle="round", fc="white", ec=COLORS["highlight"]))
    style_axes(ax, title=title, xlabel="rate: KL(q(z|x) || p(z))  [nats]", ylabel="distortion: -log p(x|z)  [nats]")
    return finish(ax)


def rate_distortion(rates, distortions, betas=None, highlight: int | None = None, elbo_lines: bool = True,
                    title: str | None = "Rate-distortion trade-off", width: float = 9.0, height: float = 6.5):
    """A figure of draw_rate_distortion: one point per beta, with the highlighted one marked."""
    fig, axes = new_figure(width, height)
    draw_rate_distortion(axes[0, 0], rates, distortions, betas, highlight, elbo_lines, title)
    return finish(fig)
