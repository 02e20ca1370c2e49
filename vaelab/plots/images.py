"""Images: a grid of (N, C, H, W) tensors, and originals above their reconstructions.

Every grid is drawn as ONE mosaic image per axes (tiles separated by thin grey lines), not one axes per
tile: a 100-image grid then draws in milliseconds, which keeps widgets responsive.
"""
from __future__ import annotations

import math

import numpy as np

from ._style import LABEL, TICK, TITLE, finish, new_figure, to_numpy

PAD = 1            # pixels of separator between tiles
PAD_VALUE = 0.15   # separator shade on the 0..1 scale: light grey with the gray_r colormap


def as_images(images) -> np.ndarray:
    """(N, H, W) or (N, H, W, 3) float array from (N, C, H, W) with C in {1, 3}, or (N, H, W)."""
    a = to_numpy(images)
    if a.ndim == 4 and a.shape[1] == 1:
        return a[:, 0]
    if a.ndim == 4 and a.shape[1] == 3:
        return a.transpose(0, 2, 3, 1)
    if a.ndim == 3:
        return a
    raise ValueError(f"images must have shape (N, C, H, W) with C in (1, 3), or (N, H, W); got {a.shape}. "
                     "2-D points are not images: use plots.latent_scatter for them.")


def tile(images, ncol: int | None = None, pad: int = PAD, pad_value: float = PAD_VALUE) -> np.ndarray:
    """Arrange N images on a grid of ncol columns (default: about square). Returns the mosaic array:
    (rows*(H+pad)+pad, ncol*(W+pad)+pad), plus a trailing 3 for colour images."""
    a = as_images(images)
    n, h, w = a.shape[:3]
    if n == 0:
        raise ValueError("images is empty: nothing to draw")
    ncol = ncol or math.ceil(math.sqrt(n))
    if ncol < 1:
        raise ValueError(f"ncol must be >= 1, got {ncol}")
    ncol = min(ncol, n)
    nrow = math.ceil(n / ncol)
    out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, *a.shape[3:]), pad_value, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        out[top:top + h, left:left + w] = a[i]
    return out


def draw_grid(ax, images, ncol: int | None = None, title: str | None = None, ylabel: str | None = None,
              captions=None, vmin: float | None = None, vmax: float | None = None):
    """Draw `images` as a mosaic on `ax`; captions (one short string per image) go under the tiles.

    Pixel values in [0, 1] use a fixed 0..1 grey scale (dark = ink) so images are comparable across
    panels; other ranges are scaled to the data's min..max unless vmin/vmax are given.
    """
    a = as_images(images)
    n, h, w = a.shape[:3]
    mosaic = tile(a, ncol)
    if vmin is None or vmax is None:
        lo, hi = float(a.min()), float(a.max())
        in_unit = lo >= 0.0 and hi <= 1.0
        vmin = (0.0 if in_unit else lo) if vmin is None else vmin
        vmax = (1.0 if in_unit else hi) if vmax is None else vmax
    ax.imshow(mosaic, cmap="gray_r", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=TITLE)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=LABEL, rotation=0, ha="right", va="center")
    if captions is not None:
        captions = list(captions)
        if len(captions) != n:
            raise ValueError(f"captions must have one entry per image ({n}), got {len(captions)}")
        ncol_used = min(ncol or math.ceil(math.sqrt(n)), n)
        if math.ceil(n / ncol_used) == 1:
            # One row: captions as x tick labels, which constrained layout makes room for.
            ax.set_xticks([PAD + i * (w + PAD) + (w - 1) / 2 for i in range(n)], [str(c) for c in captions])
            ax.tick_params(axis="x", length=0, labelsize=TICK)
        else:
            for i, cap in enumerate(captions):
                r, c = divmod(i, ncol_used)
                ax.text(PAD + c * (w + PAD) + (w - 1) / 2, PAD + r * (h + PAD) + h - 0.5, str(cap),
                        ha="center", va="top", fontsize=TICK, color="#b00000")
    return finish(ax)


def image_grid(images, ncol: int | None = None, title: str | None = None, captions=None,
               width: float | None = None):
    """A figure with the images of an (N, C, H, W) tensor on a grid (about square unless ncol is given)."""
    a = as_images(images)
    n = a.shape[0]
    ncol_used = min(ncol or math.ceil(math.sqrt(max(n, 1))), max(n, 1))
    nrow = math.ceil(n / ncol_used)
    width = width or min(12.0, 1.1 * ncol_used + 1.0)
    height = width * nrow / ncol_used + (0.8 if title else 0.2) + (0.5 if captions is not None else 0.0)
    fig, axes = new_figure(width, max(height, 2.0))
    draw_grid(axes[0, 0], a, ncol_used, title=title, captions=captions)
    return finish(fig)


def reconstruction_rows(originals, reconstructions, title: str | None = "Originals and their reconstructions",
                        labels=("original", "reconstruction"), width: float = 12.0):
    """Two rows: the inputs, and below each one its reconstruction. Both (N, C, H, W) with the same N."""
    a, b = as_images(originals), as_images(reconstructions)
    if a.shape != b.shape:
        raise ValueError(f"originals and reconstructions must have one shape, got {a.shape} and {b.shape}")
    n = a.shape[0]
    row_h = width / n * a.shape[1] / a.shape[2] if n else 1.0
    fig, axes = new_figure(width, max(2.4, 2 * row_h + (1.0 if title else 0.4)), nrows=2)
    draw_grid(axes[0, 0], a, ncol=n, ylabel=labels[0])
    draw_grid(axes[1, 0], b, ncol=n, ylabel=labels[1])
    if title:
        fig.suptitle(title, fontsize=TITLE)
    return finish(fig)
