"""The distributions a VAE needs, written out so the maths is visible.

Shapes: a leading batch (and optionally sample) shape, then an event shape that log_prob sums over.
Units: nats.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


class DiagGaussian:
    """q(z|x) = N(mu, diag exp(logvar)); mu, logvar: (..., d)."""

    def __init__(self, mu: torch.Tensor, logvar: torch.Tensor):
        if mu.shape != logvar.shape:
            raise ValueError(f"mu and logvar must have one shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
        self.mu, self.logvar = mu, logvar

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def rsample(self, n: int | None = None) -> torch.Tensor:
        """Reparameterized draw: (..., d), or (n, ..., d) when n is given."""
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        eps = torch.randn(shape, device=self.mu.device, dtype=self.mu.dtype)
        return self.mu + self.std * eps

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z): sums over the last dim; z may carry extra leading sample dims."""
        return -0.5 * (LOG_2PI + self.logvar + (z - self.mu) ** 2 / torch.exp(self.logvar)).sum(-1)

    def kl_standard_per_dim(self) -> torch.Tensor:
        """KL(q || N(0, I)) per latent dim, (..., d): 1/2 (mu^2 + sigma^2 - 1 - log sigma^2) (Kingma & Welling 2014, App. B)."""
        return 0.5 * (self.mu ** 2 + torch.exp(self.logvar) - 1.0 - self.logvar)

    def kl_standard(self) -> torch.Tensor:
        return self.kl_standard_per_dim().sum(-1)

    def entropy(self) -> torch.Tensor:
        return 0.5 * (self.mu.shape[-1] * (1 + LOG_2PI) + self.logvar.sum(-1))


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dim."""
    return -0.5 * (LOG_2PI + z ** 2).sum(-1)


class Bernoulli:
    """p(x|z) with independent pixels; logits: (..., *event_shape). Targets may be in [0, 1] (continuous Bernoulli-style use)."""

    def __init__(self, logits: torch.Tensor, event_dims: int):
        self.logits, self.event_dims = logits, event_dims

    @property
    def mean(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """sum over the event dims of x log p + (1 - x) log(1 - p); x broadcasts against the logits."""
        logits = self.logits
        if logits.shape != x.shape:
            logits, x = torch.broadcast_tensors(logits, x)
        ll = -F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        return ll.flatten(-self.event_dims).sum(-1)

    def sample(self) -> torch.Tensor:
        return torch.bernoulli(self.mean)


class Gaussian:
    """p(x|z) = N(mean, diag exp(logvar)) over the event dims; logvar broadcasts against mean."""

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor, event_dims: int):
        self.loc, self.logvar, self.event_dims = mean, logvar, event_dims

    @property
    def mean(self) -> torch.Tensor:
        return self.loc

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        ll = -0.5 * (LOG_2PI + self.logvar + (x - self.loc) ** 2 / torch.exp(self.logvar))
        return ll.flatten(-self.event_dims).sum(-1)

    def sample(self) -> torch.Tensor:
        return self.loc + torch.exp(0.5 * self.logvar) * torch.randn_like(self.loc)
