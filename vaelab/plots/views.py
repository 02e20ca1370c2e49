"""Composite figures that the widgets redraw: several plots.* panels on one figure, still data -> figure."""
from __future__ import annotations

import numpy as np

from matplotlib.figure import Figure

from ._style import DPI, TITLE, finish, to_numpy
from .curves import draw_rate_distortion
from .images import as_images, draw_grid


def beta_sweep_view(rates, distortions, betas, index: int, originals, reconstructions, samples,
                    width: float = 16.0, height: float = 7.0):
    """Left: the rate-distortion curve with point `index` marked. Right, for that model: the originals,
    their reconstructions, and samples from the prior (each (N, C, H, W))."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.0, 1.15])
    draw_rate_distortion(left.subplots(), rates, distortions, betas, highlight=index,
                         title=f"β = {list(betas)[index]:g}")
    axes = right.subplots(3, 1)
    n = as_images(originals).shape[0]
    draw_grid(axes[0], originals, ncol=n, title="test images")
    draw_grid(axes[1], reconstructions, ncol=n, title="their reconstructions")
    draw_grid(axes[2], samples, ncol=as_images(samples).shape[0], title="samples: z ~ N(0, I), decoded")
    return finish(fig)


def _one(image) -> np.ndarray:
    """One image (C, H, W) or (1, C, H, W) -> (1, C, H, W)."""
    a = to_numpy(image)
    return a[None] if a.ndim == 3 else a[:1]


def interpolation_view(images, t, start=None, end=None, method: str = "linear", width: float = 15.0,
                       start_title: str = "x_A", end_title: str = "x_B"):
    """Decoded images along a latent path (S, C, H, W) at times t (S,), optionally flanked by the two
    original examples it starts and ends at."""
    imgs = as_images(images)
    tt = to_numpy(t).ravel()
    if tt.shape[0] != imgs.shape[0]:
        raise ValueError(f"t must have one entry per image ({imgs.shape[0]}), got {tt.shape[0]}")
    with_ends = start is not None and end is not None
    s = imgs.shape[0]
    ratios = [1.0, s, 1.0] if with_ends else [s]
    tile_w = width / (s + (2.6 if with_ends else 0.4))
    fig = Figure(figsize=(width, max(2.8, tile_w * imgs.shape[1] / imgs.shape[2] + 1.9)), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(1, len(ratios), width_ratios=ratios, squeeze=False)[0]
    path_ax = axes[1] if with_ends else axes[0]
    draw_grid(path_ax, imgs, ncol=s, captions=[f"{v:.2g}" for v in tt],
              title=f"decoded along the {method} path (t below)")
    if with_ends:
        draw_grid(axes[0], _one(start), ncol=1, title=start_title)
        draw_grid(axes[2], _one(end), ncol=1, title=end_title)
    fig.get_layout_engine().set(w_pad=0.08)
    fig.suptitle("Interpolating between two encoded examples", fontsize=TITLE)
    return finish(fig)
