"""A latent-space energy-based prior (Pang, Han, Nijkamp, Zhu & Wu, NeurIPS 2020).

    p_a(z) = exp(f_a(z)) N(z; 0, I) / Z_a,      Z_a = E_{N(0, I)}[exp f_a(z)],

an exponential tilting of the Gaussian by a small MLP f_a. As in the official code
(bpucla/latent-space-EBM-prior, `_netE`): latent_dim -> 200 -> 200 -> 1 with GELU (or LeakyReLU(0.2)), PyTorch's
default initialisation of the linear layers, and f_a the plain network output (their energy is −f_a). Sampling it
needs Langevin dynamics (vaelab.inference.prior_langevin); this module holds only the density.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_choice, check_float, check_int
from .distributions import standard_normal_log_prob

ACTIVATIONS = {"gelu": nn.GELU, "lrelu": lambda: nn.LeakyReLU(0.2), "swish": nn.SiLU}


class EBMPrior(nn.Module):
    """f_a: an MLP latent_dim -> hidden -> 1. activation: 'gelu', 'lrelu' (slope 0.2) or 'swish'.
    config: the keyword arguments that rebuild it (EBMPrior(**prior.config))."""

    def __init__(self, latent_dim: int, hidden=(200, 200), activation: str = "gelu"):
        super().__init__()
        check_int("latent_dim", latent_dim, 1)
        hidden = tuple(hidden)
        for h in hidden:
            check_int("hidden width", h, 1)
        check_choice("activation", activation, ACTIVATIONS)
        self.latent_dim = latent_dim
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden), "activation": activation}
        layers: list[nn.Module] = []
        for a, b in zip((latent_dim, *hidden), hidden):
            layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
        layers.append(nn.Linear((latent_dim, *hidden)[-1], 1))
        self.net = nn.Sequential(*layers)

    def _check(self, z):
        if not torch.is_tensor(z) or z.dim() != 2 or z.shape[1] != self.latent_dim:
            shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"z must be a (B, {self.latent_dim}) tensor (latent_dim={self.latent_dim}), got {shape}")

    def f(self, z: torch.Tensor) -> torch.Tensor:
        """The learned log-density correction f_a(z): (B,) for z (B, latent_dim). Nats, up to the constant log Z."""
        self._check(z)
        return self.net(z).squeeze(-1)

    def log_prob_unnormalised(self, z: torch.Tensor) -> torch.Tensor:
        """f_a(z) + log N(z; 0, I): (B,), nats. log p_a(z) = this − log Z_a."""
        return self.f(z) + standard_normal_log_prob(z)

    def log_prob(self, z: torch.Tensor, log_z: float) -> torch.Tensor:
        """The normalised log p_a(z) = f_a(z) + log N(z; 0, I) − log_z: (B,), nats, given an estimate log_z of
        log Z_a (from log_partition)."""
        if torch.is_tensor(log_z):
            raise TypeError("log_z must be a float (the first value that log_partition returns), got a tensor")
        log_z = check_float("log_z", log_z, minimum=-math.inf)
        return self.log_prob_unnormalised(z) - log_z

    @torch.no_grad()
    def log_partition(self, n_samples: int = 100_000, *, generator: torch.Generator | None = None,
                      batch_size: int = 10_000) -> tuple[float, float]:
        """(log Z_a, its standard error), nats, by plain Monte Carlo from the base N(0, I):

            log Z_a = log (1/n) Σ_i exp f_a(z_i),  z_i ~ N(0, I),

        computed with logsumexp. The standard error is the delta method's: with w_i = exp(f_a(z_i) − max_j f_a(z_j)),
        se(log Z) ≈ se(mean w) / mean w = std(w) / (sqrt(n) · mean w). Reliable when exp f_a has a light tail under
        N(0, I) (few latent dimensions, a mild f_a); a large se, or an effective sample size (Σw)²/Σw² far below n,
        says the estimate is not yet a measurement. The estimate of log Z (not of Z) is biased low by about
        se²/2 (Jensen). generator: draws on its own device, then moved to the prior's (None: torch's global RNG).
        Evaluated in chunks of batch_size draws."""
        check_int("n_samples", n_samples, 2)
        check_int("batch_size", batch_size, 1)
        p = next(self.parameters())
        fs = []
        for start in range(0, n_samples, batch_size):
            shape = (min(batch_size, n_samples - start), self.latent_dim)
            if generator is None:
                z = torch.randn(shape, device=p.device, dtype=p.dtype)
            else:
                z = torch.randn(shape, generator=generator, device=generator.device, dtype=p.dtype).to(p.device)
            fs.append(self.f(z).double())
        f = torch.cat(fs)
        log_z = torch.logsumexp(f, 0) - math.log(n_samples)
        w = torch.exp(f - f.max())
        se = w.std() / (math.sqrt(n_samples) * w.mean())
        return float(log_z), float(se)
