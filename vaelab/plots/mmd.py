"""MMD figures: the two-sample view, aggregate posterior vs prior maps, the mmd_prior bars, the γ sweep (MMD weight)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._style import COLORS, DPI, LABEL, LEGEND, TITLE, category_xticks, finish, new_figure, style_axes, to_numpy
from .images import as_images, draw_grid

PRIOR_COLOR, SAMPLE_COLOR = "#7f7f7f", "#1f77b4"


def two_sample_view(x, y, kernel_matrix, mmd2_u: float, p_value: float, null=None, title: str | None = None,
                    width: float = 17.0, height: float = 5.6):
    """Left: the two samples x (n, d) and y (m, d) on their first two coordinates (or a histogram for d=1).
    Middle: the pooled kernel matrix (x first, then y) as a heatmap. Right: the permutation null of MMD²
    with the observed value marked (when `null` is given)."""
    a, b, k = to_numpy(x), to_numpy(y), to_numpy(kernel_matrix)
    fig, axes = new_figure(width, height, ncols=3 if null is not None else 2)
    ax = axes[0, 0]
    if a.shape[1] == 1:
        bins = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()), 30)
        ax.hist(a[:, 0], bins, alpha=0.6, label="x ~ P", color=PRIOR_COLOR)
        ax.hist(b[:, 0], bins, alpha=0.6, label="y ~ Q", color=COLORS["highlight"])
    else:
        ax.scatter(a[:, 0], a[:, 1], s=14, alpha=0.6, label="x ~ P", color=PRIOR_COLOR)
        ax.scatter(b[:, 0], b[:, 1], s=14, alpha=0.6, label="y ~ Q", color=COLORS["highlight"])
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=LEGEND, loc="upper left")
    style_axes(ax, title="the two samples", xlabel="coordinate 1",
               ylabel="count" if a.shape[1] == 1 else "coordinate 2")
    ax = axes[0, 1]
    im = ax.imshow(k, cmap="viridis", interpolation="nearest")
    n = a.shape[0]
    ax.axhline(n - 0.5, color="white", lw=2)
    ax.axvline(n - 0.5, color="white", lw=2)
    ax.set_xticks([n / 2, n + b.shape[0] / 2], ["x", "y"])
    ax.set_yticks([n / 2, n + b.shape[0] / 2], ["x", "y"])
    fig.colorbar(im, ax=ax, shrink=0.8)
    style_axes(ax, title="kernel matrix k(·, ·)", grid=False)
    if null is not None:
        ax = axes[0, 2]
        ax.hist(to_numpy(null).ravel(), bins=30, color=PRIOR_COLOR, alpha=0.8, label="permutation null")
        ax.axvline(mmd2_u, color=COLORS["kl"], lw=3, label="observed")
        ax.legend(fontsize=LEGEND)
        style_axes(ax, title=f"p-value = {p_value:.3f}", xlabel="MMD² (unbiased)", ylabel="permutations")
    fig.suptitle(title or f"MMD² = {mmd2_u:.4f}   (permutation p = {p_value:.3f})", fontsize=TITLE)
    return finish(fig)


def mmd_curve(values: dict, xlabel: str, title: str | None = None, ylabel: str = "MMD²", log_x: bool = False,
              width: float = 8.0, height: float = 5.0):
    """One line per entry of `values` = {label: (xs, ys)}, e.g. MMD² against a mean shift or a bandwidth."""
    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    for label, (xs, ys) in values.items():
        ax.plot(to_numpy(xs), to_numpy(ys), "-o", lw=2.5, ms=7, label=label)
    if log_x:
        ax.set_xscale("log")
    ax.axhline(0.0, color="black", lw=1)
    ax.legend(fontsize=LEGEND)
    style_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel)
    return finish(fig)


def draw_posterior_vs_prior(ax, z_q, z_p, title: str | None = None, lim: float = 4.0, bins: int = 40):
    """The aggregate posterior as a 2-D histogram (white = no codes: a hole), with prior contours at
    1, 2 and 3 standard deviations; z_q (N, 2) samples of q(z), z_p ignored beyond its dimension check."""
    q = to_numpy(z_q)
    if q.ndim != 2 or q.shape[1] != 2 or to_numpy(z_p).shape[1] != 2:
        raise ValueError(f"draw_posterior_vs_prior needs 2-D codes, got shapes {q.shape} and {to_numpy(z_p).shape}")
    ax.hist2d(q[:, 0], q[:, 1], bins=bins, range=[[-lim, lim], [-lim, lim]], cmap="Blues", cmin=1)
    t = np.linspace(0, 2 * np.pi, 200)
    for r in (1, 2, 3):
        ax.plot(r * np.cos(t), r * np.sin(t), "--", color=COLORS["kl"], lw=1.5)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    style_axes(ax, title=title, xlabel="$z_1$", ylabel="$z_2$")
    return finish(ax)


def posterior_vs_prior(panels: dict, prior_z, mmd_values: dict | None = None, samples: dict | None = None,
                       lim: float = 4.0, width: float | None = None):
    """One column per model: its aggregate posterior q(z) (2-D histogram) over the prior's 1-2-3σ circles,
    titled with its mmd_prior; below, optionally, images decoded from prior draws (where samples come from).

    panels: {name: z_q (N, 2)}. prior_z: (M, 2) prior draws. mmd_values: {name: float}.
    samples: {name: images (S, C, H, W)}.
    """
    names = list(panels)
    width = width or 6.0 * len(names)
    fig = Figure(figsize=(width, 6.0 + (3.2 if samples else 0.0)), dpi=DPI, layout="constrained")
    axes = fig.subplots(2 if samples else 1, len(names), squeeze=False,
                        height_ratios=[6.0, 3.2] if samples else None)
    for j, name in enumerate(names):
        label = name if not mmd_values else f"{name}\nmmd_prior = {mmd_values[name]:.4f}"
        draw_posterior_vs_prior(axes[0, j], panels[name], prior_z, title=label, lim=lim)
        if samples:
            imgs = as_images(samples[name])
            draw_grid(axes[1, j], imgs, ncol=int(np.ceil(np.sqrt(imgs.shape[0]))), title="decoded z ~ N(0, I)")
    fig.suptitle("Aggregate posterior q(z) (blue) against the prior's 1σ/2σ/3σ circles (red)", fontsize=TITLE)
    return finish(fig)


def metric_bars(values: dict, title: str | None = None, ylabel: str = "mmd_prior (MMD², IMQ)",
                width: float = 8.0, height: float = 5.0):
    """A bar per model: values = {name: value} or {name: (value, standard error)}, the latter with ± 1 SE bars.
    Long names are wrapped or turned so that they never overlap."""
    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    names = list(values)
    pairs = [values[n] if isinstance(values[n], (tuple, list)) else (values[n], None) for n in names]
    err = [float(se or 0.0) for _, se in pairs] if any(se is not None for _, se in pairs) else None
    ax.bar(range(len(names)), [float(v) for v, _ in pairs], yerr=err, capsize=6, error_kw={"lw": 2},
           color=[SAMPLE_COLOR, COLORS["highlight"], COLORS["elbo"], COLORS["kl"]][:len(names)] or None)
    category_xticks(ax, range(len(names)), names, (width - 1.5) / max(len(names), 1))
    ax.axhline(0.0, color="black", lw=1)
    style_axes(ax, title=title, ylabel=ylabel)
    return finish(fig)


def lambda_sweep_view(lambdas, kls, mmds, recs, index: int, samples, width: float = 17.0, height: float = 7.5):
    """Left: KL, mmd_prior and reconstruction cost against the MMD weight γ (log-spaced positions), the selected γ marked.
    Right: images decoded from fixed prior draws with the selected model."""
    lams = [float(v) for v in lambdas]
    pos = np.arange(len(lams))
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.25, 1.0])
    axes = left.subplots(3, 1, sharex=True)
    series = [(kls, "KL(q(z|x) ‖ p)\n[nats]", COLORS["kl"]), (mmds, "mmd_prior\n(MMD²)", SAMPLE_COLOR),
              (recs, "reconstruction\n[nats]", COLORS["rec"])]
    for ax, (vals, label, color) in zip(axes, series):
        v = np.asarray(vals, dtype=float)
        ax.plot(pos, v, "-o", color=color, lw=2.5, ms=7)
        ax.plot([pos[index]], [v[index]], "o", ms=18, mfc="none", mec=COLORS["highlight"], mew=3)
        if vals is mmds:
            ax.set_yscale("symlog", linthresh=1e-2)      # MMD² spans decades and may dip below 0
        style_axes(ax, ylabel=label)
    axes[-1].set_xticks(pos, [f"{v:g}" for v in lams])
    axes[-1].set_xlabel("γ (weight on MMD²(q(z), p(z)))", fontsize=LABEL)
    imgs = as_images(samples)
    draw_grid(right.subplots(), imgs, ncol=int(np.ceil(np.sqrt(imgs.shape[0]))),
              title=f"γ = {lams[index]:g}: decoded z ~ N(0, I)")
    return finish(fig)
