"""Variational families for one q per example: the diagonal Gaussian (the encoder's family) and a
full-covariance Gaussian (a richer family), with the reparameterization and the ELBO written out.

Shapes: a batch of B examples; z is (..., B, d). Units: nats, summed over the dimensions of one example.
"""
from __future__ import annotations

import math

import torch

from ..models.distributions import LOG_2PI, DiagGaussian


class FullGaussian:
    """q(z) = N(mu, L L^T) per example; mu (B, d), scale_tril (B, d, d) lower-triangular, positive diagonal."""

    def __init__(self, mu: torch.Tensor, scale_tril: torch.Tensor):
        if scale_tril.shape != (*mu.shape, mu.shape[-1]):
            raise ValueError(f"scale_tril must have shape {(*mu.shape, mu.shape[-1])} for mu of shape "
                             f"{tuple(mu.shape)}, got {tuple(scale_tril.shape)}")
        self.mu, self.scale_tril = mu, scale_tril

    @classmethod
    def from_diag(cls, q: DiagGaussian) -> "FullGaussian":
        return cls(q.mu, torch.diag_embed(torch.exp(0.5 * q.logvar)))

    @property
    def covariance(self) -> torch.Tensor:
        return self.scale_tril @ self.scale_tril.transpose(-1, -2)

    def log_det_cov(self) -> torch.Tensor:
        return 2 * torch.log(torch.diagonal(self.scale_tril, dim1=-2, dim2=-1)).sum(-1)

    def transform(self, eps: torch.Tensor) -> torch.Tensor:
        """z = mu + L eps for standard-normal eps (..., B, d)."""
        return self.mu + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def rsample(self, n: int | None = None) -> torch.Tensor:
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        return self.transform(torch.randn(shape, device=self.mu.device, dtype=self.mu.dtype))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z) for z (..., B, d): (..., B)."""
        diff = (z - self.mu).unsqueeze(-1)
        L = self.scale_tril.expand(*diff.shape[:-2], *self.scale_tril.shape[-2:])
        white = torch.linalg.solve_triangular(L, diff, upper=False).squeeze(-1)
        d = self.mu.shape[-1]
        return -0.5 * (d * LOG_2PI + self.log_det_cov() + (white ** 2).sum(-1))

    def kl_standard(self) -> torch.Tensor:
        """KL(N(mu, S) || N(0, I)) = 1/2 (tr S + |mu|^2 - d - log det S): (B,)."""
        d = self.mu.shape[-1]
        tr = (self.scale_tril ** 2).sum((-1, -2))
        return 0.5 * (tr + (self.mu ** 2).sum(-1) - d - self.log_det_cov())

    def __getitem__(self, rows) -> "FullGaussian":
        return FullGaussian(self.mu[rows], self.scale_tril[rows])


def diag_rows(q: DiagGaussian, rows) -> DiagGaussian:
    return DiagGaussian(q.mu[rows], q.logvar[rows])


def rows_of(q, rows):
    """The examples `rows` (a slice or index tensor) of a batched q of either family."""
    return diag_rows(q, rows) if isinstance(q, DiagGaussian) else q[rows]


def transform(q, eps: torch.Tensor) -> torch.Tensor:
    """Reparameterized z for standard-normal eps (..., B, d), for either family."""
    if isinstance(q, DiagGaussian):
        return q.mu + torch.exp(0.5 * q.logvar) * eps
    return q.transform(eps)


def elbo_with_noise(model, x: torch.Tensor, q, eps: torch.Tensor) -> torch.Tensor:
    """ELBO(x; q) per example, (B,) nats: mean over the S draws eps (S, B or 1, d) of log p(x|z), minus the
    analytic KL(q || N(0, I)). With eps fixed this is a deterministic function of q (for its gradient)."""
    z = transform(q, eps)
    return model.decode(z).log_prob(x).mean(0) - q.kl_standard()


def standard_noise(n: int, d: int, generator: torch.Generator, device, batch: int = 1) -> torch.Tensor:
    """(n, batch, d) standard normals drawn on the CPU from `generator` (reproducible across devices)."""
    return torch.randn(n, batch, d, generator=generator).to(device)


def log_mean_exp(a: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return torch.logsumexp(a, dim) - math.log(a.shape[dim])
