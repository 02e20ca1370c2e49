"""Models: encoders, decoders and the VAE container."""
from .ebm_prior import EBMPrior
from .distributions import Bernoulli, ContinuousBernoulli, DiagGaussian, Gaussian, standard_normal_log_prob
from .vae import (LIKELIHOODS, MODELS, PRIORS, TEXT_MODELS, VAE, build_model, check_likelihood_data, check_model_data,
                  likelihood_for, model_from_config)

__all__ = ["EBMPrior", "Bernoulli", "ContinuousBernoulli", "check_likelihood_data", "likelihood_for", "DiagGaussian", "Gaussian", "standard_normal_log_prob", "LIKELIHOODS", "MODELS", "PRIORS", "VAE",
           "build_model", "model_from_config", "TEXT_MODELS", "check_model_data"]
