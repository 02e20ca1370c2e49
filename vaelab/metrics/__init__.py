"""Metrics: log p(x) estimates, KL, mutual information, active units, latent probes."""
from .evaluate import eval_inputs, evaluate
from .latent import active_units, encode_all, kl_per_dim, linear_probe, mutual_information
from .latent_paths import decode_mean, decoded_path, encode_mean, lerp, prior_codes, slerp
from .likelihood import elbo_parts, iw_log_px

__all__ = ["eval_inputs", "evaluate", "active_units", "encode_all", "kl_per_dim", "linear_probe",
           "mutual_information", "elbo_parts", "iw_log_px", "decode_mean", "decoded_path", "encode_mean", "lerp",
           "prior_codes", "slerp"]
