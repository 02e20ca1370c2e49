"""Plots: functions from data (tensors, arrays, histories) to a matplotlib Figure. No widgets, no maths.

Figures are built without pyplot (see _style), so they need no closing; large fonts for projection.
"""
from .curves import draw_rate_distortion, elbo_anatomy, history_curves, rate_distortion
from .images import as_images, draw_grid, image_grid, reconstruction_rows, tile
from .latent import decoded_image, decoder_view, draw_scatter, latent_scatter
from .views import beta_sweep_view, interpolation_view
from .mmd import (draw_posterior_vs_prior, lambda_sweep_view, metric_bars, mmd_curve, posterior_vs_prior,
                  two_sample_view)
from .posterior import draw_gaussian, posterior_view
from .collapse import collapse_view, remedies_grid, remedy_bars
from .summary import gap_bars, summary_bars
from .savae import cost_bars, refinement_path_view
from .langevin import ebm_prior_view, langevin_view
from .foundations import gradient_estimator_view, iw_bound_view
from .latent_map import (compare_items, compare_maps, draw_items, draw_map, draw_sentences, item_grid, map_view,
                         neighbours_view, path_view, traversal_view)

__all__ = ["ebm_prior_view", "langevin_view", "draw_rate_distortion", "elbo_anatomy", "history_curves", "rate_distortion", "as_images", "draw_grid",
           "image_grid", "reconstruction_rows", "tile", "decoded_image", "decoder_view", "draw_scatter",
           "latent_scatter", "beta_sweep_view", "interpolation_view", "draw_gaussian", "posterior_view",
           "draw_posterior_vs_prior", "lambda_sweep_view", "metric_bars", "mmd_curve", "posterior_vs_prior",
           "two_sample_view", "collapse_view", "remedies_grid", "remedy_bars", "gap_bars", "summary_bars",
           "cost_bars", "refinement_path_view",
           "compare_items", "compare_maps", "draw_items", "draw_map", "draw_sentences", "item_grid", "map_view",
           "neighbours_view", "path_view", "traversal_view",
           "gradient_estimator_view", "iw_bound_view"]
