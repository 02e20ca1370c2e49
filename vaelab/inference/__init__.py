"""Inference: per-example variational optimisation (SVI), a richer full-covariance family, AIS with HMC,
the true posterior of a 2-D latent model on a grid, and SA-VAE's differentiable refinement and
training modes (Kim et al. 2018). Imports only data, models and objectives."""
from .ais import ais_log_px, beta_schedule
from .families import DefensiveMixture, FullGaussian, defensive_proposal, elbo_with_noise, rows_of
from .fullcov import refine_fullcov
from .grid import posterior_grid
from .langevin import (SRI_STEP_SIZES, SRI_TEMPERATURE, LangevinResult, gaussian_langevin_law, langevin, log_joint,
                       posterior_langevin, prior_langevin, step_sizes)
from .savae import HVP_BACKENDS, refine_lambda
from .savae_modes import SAVAE_MODES, make_savae_objective, savae_loss
from .svi import OPTIMIZERS, SVIResult, optimize_per_example, refine

__all__ = ["ais_log_px", "beta_schedule", "DefensiveMixture", "defensive_proposal", "FullGaussian", "elbo_with_noise", "rows_of", "refine_fullcov",
           "posterior_grid", "SRI_STEP_SIZES", "SRI_TEMPERATURE", "LangevinResult", "gaussian_langevin_law", "langevin",
           "log_joint", "posterior_langevin", "prior_langevin", "step_sizes", "OPTIMIZERS", "SVIResult", "optimize_per_example", "refine",
           "HVP_BACKENDS", "refine_lambda", "SAVAE_MODES", "make_savae_objective", "savae_loss"]
