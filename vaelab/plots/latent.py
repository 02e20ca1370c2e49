"""Latent space: 2-D maps coloured by label, with highlighted points and paths; one decoded image."""
from __future__ import annotations

import numpy as np

from ._style import COLORS, LEGEND, TITLE, finish, new_figure, style_axes, to_numpy
from .images import draw_grid


def _points_2d(z, name: str = "z") -> np.ndarray:
    a = to_numpy(z)
    if a.ndim == 1 and a.shape[0] == 2:
        a = a[None]
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2): a 2-D latent map needs latent_dim=2 (or a 2-D "
                         f"projection such as PCA first); got {a.shape}")
    return a


def draw_scatter(ax, z, labels=None, highlight=None, path=None, marker=None, title: str | None = None,
                 point_size: float = 14.0, legend: bool = True):
    """Draw codes z (N, 2) on `ax`, coloured by integer `labels` (N,).

    highlight: indices into z to ring in orange. path: (S, 2) points joined by a line (an interpolation).
    marker: one (2,) point drawn as a big cross (where a decoder slider is).
    """
    a = _points_2d(z)
    kw = {}
    if labels is not None:
        lab = to_numpy(labels).astype(int).ravel()
        if lab.shape[0] != a.shape[0]:
            raise ValueError(f"labels must have one entry per point ({a.shape[0]}), got {lab.shape[0]}")
        kw = dict(c=lab, cmap="tab10", vmin=-0.5, vmax=9.5)
    sc = ax.scatter(a[:, 0], a[:, 1], s=point_size, alpha=0.75, linewidths=0, **kw)
    if labels is not None and legend:
        handles, names = sc.legend_elements(num=None)
        ax.legend(handles, names, title="label", fontsize=LEGEND, title_fontsize=LEGEND, loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False, markerscale=1.6)
    if highlight is not None:
        idx = np.atleast_1d(np.asarray(highlight, dtype=int))
        ax.scatter(a[idx, 0], a[idx, 1], s=260, facecolors="none", edgecolors=COLORS["highlight"], linewidths=3,
                   zorder=4)
    if path is not None:
        p = _points_2d(path, "path")
        ax.plot(p[:, 0], p[:, 1], "-o", color="black", lw=2.5, ms=7, zorder=5, label="path")
    if marker is not None:
        m = _points_2d(marker, "marker")[0]
        ax.plot([m[0]], [m[1]], marker="X", ms=20, color=COLORS["highlight"], mec="black", mew=2, zorder=6)
    style_axes(ax, title=title, xlabel="$z_1$", ylabel="$z_2$")
    ax.set_aspect("equal", adjustable="datalim")
    finish(ax)
    return sc


def latent_scatter(z, labels=None, highlight=None, path=None, marker=None,
                   title: str | None = "Latent map: encoder means", width: float = 8.5, height: float = 6.5):
    """A figure of the 2-D latent codes z (N, 2), coloured by label; see draw_scatter for the options."""
    fig, axes = new_figure(width, height)
    draw_scatter(axes[0, 0], z, labels, highlight, path, marker, title)
    return finish(fig)


def _format_z(z) -> str:
    v = to_numpy(z).ravel()
    if v.size <= 4:
        return "z = (" + ", ".join(f"{x:+.2f}" for x in v) + ")"
    return f"z in R^{v.size}, |z| = {float(np.linalg.norm(v)):.2f}"


def decoded_image(image, z=None, title: str | None = None, width: float = 4.5):
    """One decoded image (C, H, W) or (1, C, H, W), titled with its code z when given."""
    img = to_numpy(image)
    if img.ndim == 3:
        img = img[None]
    fig, axes = new_figure(width, width + 0.6)
    draw_grid(axes[0, 0], img, ncol=1, title=title or (_format_z(z) if z is not None else None))
    return finish(fig)


def decoder_view(image, z, background=None, labels=None, width: float = 12.0):
    """Where z is and what it decodes to: a latent map with z marked (when background (N, 2) codes are
    given and z is 2-D), beside the decoded image (C, H, W)."""
    img = to_numpy(image)
    if img.ndim == 3:
        img = img[None]
    zz = to_numpy(z).ravel()
    if background is None or zz.size != 2:
        return decoded_image(img, z)
    fig, axes = new_figure(width, width * 0.5, ncols=2)
    draw_scatter(axes[0, 0], background, labels, marker=zz, title="Where z sits", legend=False, point_size=10)
    draw_grid(axes[0, 1], img, ncol=1, title=_format_z(zz))
    fig.suptitle("Decoder: z  ->  mean of p(x | z)", fontsize=TITLE)
    return finish(fig)
