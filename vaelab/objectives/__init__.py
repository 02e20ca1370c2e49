"""Objectives: ELBO and its relatives, as pure functions of a model and a batch."""
from .elbo import elbo_loss, elbo_terms, iwae_loss, kl_warmup, log_importance_weights
from .registry import OBJECTIVES, make_objective

__all__ = ["elbo_loss", "elbo_terms", "iwae_loss", "kl_warmup", "log_importance_weights", "OBJECTIVES",
           "make_objective"]
