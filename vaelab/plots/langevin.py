"""Langevin pictures (notebook 07): chain samples over a 2-D model's true posterior, and a 2-D latent EBM prior
(its log density with prior samples, beside the points it generates and the data)."""
from __future__ import annotations

import numpy as np

from ._style import LEGEND, TITLE, finish, new_figure, style_axes, to_numpy
from .posterior import draw_gaussian

CHAIN_COLORS = ("#ff7f0e", "#1f77b4", "#9467bd", "#8c564b")


def _bias_text(bias: dict) -> str:
    mb, ms = to_numpy(bias["mean_bias"]), to_numpy(bias["mean_se"])
    vb, vs = to_numpy(bias["var_bias"]), to_numpy(bias["var_se"])
    return ("bias of mean " + ", ".join(f"{b:+.2f}±{s:.2f}" for b, s in zip(mb, ms))
            + "\nbias of var.  " + ", ".join(f"{b:+.2f}±{s:.2f}" for b, s in zip(vb, vs)))


def langevin_view(grid: dict, encoder, chains: dict, title: str | None = None, panel: float = 5.6):
    """One panel per chain, shared axes: the true p(z|x) (grey, from inference.posterior_grid), the encoder's q
    (mean (2,), variances (2,); red ellipses at 1 and 2 sigma, or None) and the chain's end points.
    chains: {label: {'z': (n, 2), 'bias': metrics.langevin_view.moment_bias(...) or None}}."""
    if not chains:
        raise ValueError("chains is empty: pass {label: {'z': samples (n, 2), 'bias': ...}}")
    z1, z2, dens = to_numpy(grid["z1"]), to_numpy(grid["z2"]), to_numpy(grid["density"])
    fig, axes = new_figure(panel * len(chains), panel + 0.9, ncols=len(chains), sharex=True, sharey=True)
    for i, (ax, (label, run)) in enumerate(zip(axes[0], chains.items())):
        z = to_numpy(run["z"])
        if z.ndim != 2 or z.shape[1] != 2:
            raise ValueError(f"chains[{label!r}]['z'] must be (n, 2) samples of a 2-D latent, got {z.shape}")
        ax.contourf(z1, z2, dens, levels=14, cmap="Greys")
        ax.scatter(z[:, 0], z[:, 1], s=7, alpha=0.55, color=CHAIN_COLORS[i % len(CHAIN_COLORS)], label="chain ends")
        if encoder is not None:
            m, v = to_numpy(encoder[0]).ravel(), to_numpy(encoder[1]).ravel()
            draw_gaussian(ax, m, np.diag(v), "encoder q", "#d62728", "-")
        ax.plot(*to_numpy(grid["mean"]), "k+", ms=18, mew=3, label="true mean")
        if run.get("bias") is not None:
            ax.text(0.02, 0.02, _bias_text(run["bias"]), transform=ax.transAxes, fontsize=LEGEND, family="monospace",
                    va="bottom", bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        ax.set_xlim(z1[0], z1[-1])
        ax.set_ylim(z2[0], z2[-1])
        style_axes(ax, title=label, xlabel="$z_1$", ylabel="$z_2$" if i == 0 else None, grid=False)
        if i == 0:
            ax.legend(fontsize=LEGEND, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)


def ebm_prior_view(models: dict, data, lim: float = 3.5, panel: float = 5.0):
    """Two rows, one column per model. Top: the prior's log density in z (filled contours; the EBM's
    f_a(z) + log N(z; 0, I), or log N(z; 0, I)) with prior samples. Bottom: the points those samples generate
    (blue) over the data (grey). models: {label: {'energy': metrics.langevin_view.energy_grid(...) or None
    (a N(0, I) prior), 'z': (n, 2), 'x': (n, 2), 'log_z': (value, se) or None}}; data: (N, 2)."""
    if not models:
        raise ValueError("models is empty")
    data = to_numpy(data)
    fig, axes = new_figure(panel * len(models), 2 * panel, nrows=2, ncols=len(models))
    c = np.linspace(-lim, lim, 121)
    gauss = -0.5 * (c[None, :] ** 2 + c[:, None] ** 2) - np.log(2 * np.pi)
    xr = np.abs(data).max() * 1.3
    for j, (label, m) in enumerate(models.items()):
        ax = axes[0, j]
        if m.get("energy") is None:
            ax.contourf(c, c, gauss, levels=np.linspace(gauss.max() - 10, gauss.max(), 15), cmap="viridis")
            sub = "N(0, I) prior"
        else:
            e = m["energy"]
            ld = to_numpy(e["log_density"])
            ax.contourf(to_numpy(e["z1"]), to_numpy(e["z2"]), ld, levels=np.linspace(ld.max() - 10, ld.max(), 15),
                        cmap="viridis", extend="min")
            sub = "EBM prior: $f_a(z)$ + log N(z; 0, I)"
            if m.get("log_z") is not None:
                sub += f"\nlog Z = {m['log_z'][0]:.2f} ± {m['log_z'][1]:.2f} nats"
        z = to_numpy(m["z"])
        ax.scatter(z[:, 0], z[:, 1], s=4, color="white", alpha=0.6, label="prior samples")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        style_axes(ax, title=f"{label}\n{sub}", xlabel="$z_1$", ylabel="$z_2$" if j == 0 else None, grid=False)
        ax.legend(fontsize=LEGEND, loc="upper right", facecolor="grey")
        ax = axes[1, j]
        x = to_numpy(m["x"])
        ax.scatter(data[:, 0], data[:, 1], s=4, color="0.6", alpha=0.5, label="data")
        ax.scatter(x[:, 0], x[:, 1], s=4, color="#1f77b4", alpha=0.5, label="generated")
        ax.set_xlim(-xr, xr)
        ax.set_ylim(-xr, xr)
        ax.set_aspect("equal")
        style_axes(ax, title="x ~ p(x | z), z from the prior", xlabel="$x_1$", ylabel="$x_2$" if j == 0 else None)
        ax.legend(fontsize=LEGEND, loc="upper right", markerscale=3)
    return finish(fig)
