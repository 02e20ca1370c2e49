"""Plots: functions from data (tensors, arrays, histories) to a matplotlib Figure. No widgets, no maths.

Figures are built without pyplot (see _style), so they need no closing; large fonts for projection.
"""
from .curves import draw_rate_distortion, elbo_anatomy, history_curves, rate_distortion
from .images import as_images, draw_grid, image_grid, reconstruction_rows, tile
from .latent import decoded_image, decoder_view, draw_scatter, latent_scatter
from .views import beta_sweep_view, interpolation_view

__all__ = ["draw_rate_distortion", "elbo_anatomy", "history_curves", "rate_distortion", "as_images", "draw_grid",
           "image_grid", "reconstruction_rows", "tile", "decoded_image", "decoder_view", "draw_scatter",
           "latent_scatter", "beta_sweep_view", "interpolation_view"]
