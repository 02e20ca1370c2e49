"""Metrics: log p(x) estimates, KL, mutual information, active units, latent probes."""
from .collapse import COLLAPSE_KL, is_collapsed, latent_usage, perplexity
from .evaluate import decoder_only_report, eval_inputs, evaluate
from .gaps import GAP_KEYS, ConvergenceWarning, inference_gaps, posterior_picture
from .latent import active_units, encode_all, kl_per_dim, linear_probe, mutual_information, mutual_information_stats
from .latent_paths import decode_mean, decoded_path, encode_mean, lerp, prior_codes, slerp
from .latent_paths import decode_items, traversal_codes
from .latent_map import (conditional_log_probs, latent_map, nearest_neighbours, pca_fit, project, project_gaussian, rank_dims,
                         unproject)
from .likelihood import decoder_only_nll, elbo_parts, iw_log_px, mean_se
from .prior_match import aggregate_posterior_samples, mmd_prior, prior_samples, two_sample_demo
from .savae import compare_refined, elbo_of, refined_elbo, refined_elbo_report, refined_posteriors, refinement_path, savae_report
from .langevin_view import chain_samples, energy_grid, generated_points, langevin_picture, moment_bias, sample_moments
from .encoder_free import chain_active_units, chain_posteriors, encoder_free_report
from .inference_compare import amortized_row, encoder_free_row, over_seeds
from .latent import probe_stats

__all__ = ["chain_samples", "energy_grid", "generated_points", "langevin_picture", "moment_bias", "sample_moments", "amortized_row", "chain_active_units", "chain_posteriors", "encoder_free_report", "encoder_free_row", "over_seeds", "probe_stats", "eval_inputs", "evaluate", "decoder_only_report", "active_units", "encode_all", "kl_per_dim", "linear_probe",
           "mutual_information", "elbo_parts", "iw_log_px", "decoder_only_nll", "compare_refined", "decode_mean", "decoded_path", "encode_mean", "lerp",
           "GAP_KEYS", "inference_gaps", "posterior_picture",
           "prior_codes", "slerp", "aggregate_posterior_samples", "mmd_prior", "prior_samples", "two_sample_demo",
           "COLLAPSE_KL", "is_collapsed", "latent_usage", "perplexity", "elbo_of", "refined_posteriors", "refinement_path",
           "savae_report", "decode_items", "traversal_codes", "latent_map", "nearest_neighbours", "pca_fit",
           "project", "project_gaussian", "rank_dims", "unproject", "conditional_log_probs", "ConvergenceWarning",
           "mutual_information_stats", "mean_se", "refined_elbo", "refined_elbo_report"]
