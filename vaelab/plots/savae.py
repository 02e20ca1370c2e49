"""Figures of the SA-VAE lab (notebook 05): the SVI path of λ_k on the 2-D posterior picture, and the cost of
each training mode relative to the VAE."""
from __future__ import annotations

import numpy as np

from ._style import LEGEND, TITLE, finish, new_figure, style_axes, to_numpy
from .posterior import posterior_view


def refinement_path_view(pic: dict, step: int, title: str | None = None):
    """pic: from vaelab.metrics.refinement_path (grid, mu (K+1, 2), var (K+1, 2), trace (K+1,)). Draws the
    true posterior with the encoder's q_0 and q_step, the path of the means μ_0 … μ_step, and the ELBO trace."""
    mu, var = to_numpy(pic["mu"]), to_numpy(pic["var"])
    if not 0 <= step < len(mu):
        raise ValueError(f"step={step!r} must be in 0 .. {len(mu) - 1} (the steps computed)")
    fig = posterior_view(pic["grid"], {"encoder q": (mu[0], var[0]), f"q after {step} SVI steps": (mu[step], var[step])},
                         trace={"ELBO of q_k": pic["trace"]}, step=step, title=title)
    ax = fig.axes[0]
    ax.plot(mu[:step + 1, 0], mu[:step + 1, 1], ".-", color="#ff7f0e", lw=2, ms=9, label="path of μ_k")
    ax.legend(fontsize=LEGEND, loc="upper right")
    return finish(fig)


def cost_bars(rows: list[dict], title: str = "cost of one training step, relative to the VAE"):
    """rows: [{'label', 'time_x_vae', 'memory_x_vae'}]: two bar charts side by side (log scale)."""
    labels = [r["label"] for r in rows]
    fig, axes = new_figure(14.0, 5.0, ncols=2)
    for ax, key, name in ((axes[0, 0], "time_x_vae", "time per step"), (axes[0, 1], "memory_x_vae", "peak memory")):
        vals = np.array([float(r[key]) for r in rows])
        ax.barh(np.arange(len(rows)), vals, color=["#7f7f7f" if v == 1 else "#1f77b4" for v in vals])
        ax.set_yticks(np.arange(len(rows)), labels)
        ax.axvline(1.0, color="black", lw=1)
        ax.set_xscale("log")
        # room for the value labels inside the frame: from below the smallest bar to 3x the largest (log scale)
        lo, hi = min(vals.min(), 1.0) / 1.5, max(vals.max(), 1.0) * 3.0
        ax.set_xlim(lo, hi)
        ticks = [t for t in (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if lo <= t <= hi]
        ax.set_xticks(ticks, [f"{t:g}×" for t in ticks])
        ax.minorticks_off()
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.1f}×", va="center", fontsize=LEGEND)
        style_axes(ax, title=f"{name} (× VAE)", xlabel="× VAE (log scale)")
    fig.suptitle(title, fontsize=TITLE)
    return finish(fig)
