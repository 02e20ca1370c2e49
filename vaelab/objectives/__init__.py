"""Objectives: ELBO and its relatives, as pure functions of a model and a batch."""
from .collapse import REMEDIES, cyclical_kl_weight, free_bits_kl, free_bits_loss, kl_schedule
from .ebm import ebm_prior_loss
from .elbo import elbo_loss, elbo_terms, iwae_loss, kl_warmup, log_importance_weights
from .infovae import infovae_loss, mmd_weight
from .mmd import KERNELS, SCALES, kernel_matrix, median_bandwidth, mmd, permutation_test
from .objective import Objective, ObjectiveKind, Param
from .registry import OBJECTIVES, make_objective

__all__ = ["ebm_prior_loss", "elbo_loss", "elbo_terms", "iwae_loss", "kl_warmup", "log_importance_weights", "OBJECTIVES",
           "make_objective", "Objective", "ObjectiveKind", "Param", "infovae_loss", "mmd_weight", "KERNELS", "SCALES", "kernel_matrix", "median_bandwidth",
           "mmd", "permutation_test", "REMEDIES", "cyclical_kl_weight", "free_bits_kl", "free_bits_loss",
           "kl_schedule"]
