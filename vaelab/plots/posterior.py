"""The posterior picture of a 2-D latent model: the true p(z|x) on a grid with Gaussian approximations
drawn as their 1- and 2-sigma ellipses, optionally beside the ELBO trace of the per-example optimisation."""
from __future__ import annotations

import numpy as np
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator

from ._style import LEGEND, finish, new_figure, style_axes, to_numpy

STYLES = {"encoder q": ("#d62728", "-"), "q* (diagonal)": ("#1f77b4", "--"), "q* (full cov.)": ("#2ca02c", ":")}
STEP_STYLE = ("#ff7f0e", "-")     # the q after k steps, and the marker of step k on the ELBO trace


def _check_2d(name, mean, cov):
    m, c = to_numpy(mean).ravel(), to_numpy(cov)
    if c.ndim == 1:
        c = np.diag(c)
    if m.shape != (2,) or c.shape != (2, 2):
        raise ValueError(f"{name}: the posterior picture needs a 2-D latent (mean of shape (2,), covariance "
                         f"(2, 2)); got mean {m.shape} and covariance {c.shape}. Use a model with latent_dim=2.")
    return m, c


def draw_gaussian(ax, mean, cov, label, color, linestyle="-"):
    """1- and 2-sigma ellipses of N(mean, cov): the level sets of its density holding 39% and 86% of it."""
    m = tuple(mean)
    vals, vecs = np.linalg.eigh(cov)
    angle = float(np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1])))
    for r, lw in ((1, 3.0), (2, 1.8)):
        w, h = 2 * r * np.sqrt(np.maximum(vals[::-1], 0))
        ax.add_patch(Ellipse(m, w, h, angle=angle, fill=False, color=color, ls=linestyle, lw=lw,
                             label=label if r == 1 else None))
    ax.plot(*m, "o", color=color, ms=6)
    finish(ax)


def _style_of(label: str, i: int):
    if label in STYLES:
        return STYLES[label]
    return STEP_STYLE if label.startswith("q after") else (f"C{i + 3}", "-")


def posterior_view(grid: dict, gaussians: dict, trace: dict | None = None, step: int | None = None,
                   title: str | None = None, width: float = 14.0):
    """Left: the true p(z|x) on its grid (grey) with Gaussian approximations as 1- and 2-sigma ellipses.
    Right (when `trace` is given): the ELBO climbing over the optimisation steps towards log p(x).

    grid: from vaelab.inference.posterior_grid (z1, z2, density, log_px). gaussians: {label: (mean (2,),
    cov (2, 2) or variances (2,))}; the labels "encoder q", "q* (diagonal)" (the factorised optimum) and
    "q* (full cov.)" have fixed styles, so both optima can be drawn side by side; a "q after k steps" label is
    orange like the step marker. trace: {label: (T,) ELBO per step, nats}, drawn against the step with the
    grid's log p(x) as a labelled horizontal line and y-limits from the lowest ELBO to log p(x), so the climb
    fills the panel; `step` is marked."""
    z1, z2, dens = to_numpy(grid["z1"]), to_numpy(grid["z2"]), to_numpy(grid["density"])
    if dens.shape != (z2.size, z1.size):
        raise ValueError(f"grid['density'] must have shape (len(z2), len(z1)) = {(z2.size, z1.size)}, got {dens.shape}")
    checked = {k: _check_2d(k, *v) for k, v in gaussians.items()}
    ncols = 2 if trace else 1
    fig, axes = new_figure(width if trace else width / 2, width * 0.42, ncols=ncols)
    ax = axes[0, 0]
    ax.contourf(z1, z2, dens, levels=14, cmap="Greys")
    for i, (label, (m, c)) in enumerate(checked.items()):
        color, ls = _style_of(label, i)
        draw_gaussian(ax, m, c, label, color, ls)
    ax.set_xlim(z1[0], z1[-1])
    ax.set_ylim(z2[0], z2[-1])
    style_axes(ax, title=title or "true p(z|x) (grey) and Gaussian q", xlabel="$z_1$", ylabel="$z_2$", grid=False)
    ax.legend(fontsize=LEGEND, loc="upper right")
    if trace:
        ax2 = axes[0, 1]
        values = {label: to_numpy(v).ravel() for label, v in trace.items()}
        for i, (label, v) in enumerate(values.items()):
            color, ls = STYLES.get(label, (f"C{i}", "-"))
            ax2.plot(np.arange(v.size), v, color=color, ls=ls, lw=2.5, label=label)
        log_px = float(grid["log_px"])
        ax2.axhline(log_px, color="black", lw=2, label="log p(x) (grid)")
        if step is not None:
            ax2.axvline(step, color=STEP_STYLE[0], lw=2, label=f"step {step}")
            for v in values.values():
                if 0 <= step < v.size:
                    ax2.plot([step], [v[step]], "o", color=STEP_STYLE[0], ms=10, zorder=4)
        # limits: from the lowest ELBO (the start of the climb) to log p(x), with a little room either side
        finite = np.concatenate([v[np.isfinite(v)] for v in values.values()] + [np.array([log_px])])
        lo, hi = float(finite.min()), float(max(finite.max(), log_px))
        pad = 0.08 * max(hi - lo, 1e-3)
        ax2.set_ylim(lo - pad, hi + pad)
        ax2.set_xlim(0, max(v.size for v in values.values()) - 1)
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
        style_axes(ax2, title="ELBO climbing towards log p(x)", xlabel="optimisation step", ylabel="ELBO [nats]")
        ax2.legend(fontsize=LEGEND, loc="lower right")
    return finish(fig)
