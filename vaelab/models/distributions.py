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

    def rsample(self, n: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterized draw: (..., d), or (n, ..., d) when n is given. generator: a torch.Generator on
        mu's device (None: torch's global generator)."""
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        eps = torch.randn(shape, device=self.mu.device, dtype=self.mu.dtype, generator=generator)
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
    """p(x|z) with independent binary pixels; logits: (..., *event_shape). A normalised log-probability only
    for x in {0, 1}: on grey x it is a cross-entropy, not a likelihood (use ContinuousBernoulli there).
    Training and evaluation refuse grey data for it (vaelab.models.check_likelihood_data)."""

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


def log_cb_normaliser(logits: torch.Tensor) -> torch.Tensor:
    """log C(p) of the continuous Bernoulli (Loaiza-Ganem & Cunningham 2019, eq. 4), as a function of the logit l.

    C(p) = 2 artanh(1 - 2p) / (1 - 2p). With p = sigmoid(l): 1 - 2p = -tanh(l/2) and artanh(1 - 2p) = -l/2,
    so C = l / tanh(l/2), which tends to 2 at l = 0. Near 0 the Taylor series 2 (1 + u²/3 - u⁴/45), u = l/2,
    is used (relative error < 1e-12 for |l| < 1e-2); its gradient stays finite everywhere."""
    small = logits.abs() < 1e-2
    safe = torch.where(small, torch.ones_like(logits), logits)
    far = torch.log(safe / torch.tanh(0.5 * safe))
    u2 = (0.5 * logits) ** 2
    near = math.log(2.0) + torch.log1p(u2 / 3 - u2 * u2 / 45)
    return torch.where(small, near, far)


class ContinuousBernoulli(Bernoulli):
    """The continuous Bernoulli (Loaiza-Ganem & Cunningham, NeurIPS 2019): a normalised density on [0, 1]
    per pixel, p(x | l) = C(p) p^x (1 - p)^(1 - x) with p = sigmoid(l). Its log-density is the Bernoulli
    cross-entropy plus log C(p) (>= log 2 per pixel), so it is a real log-likelihood of grey data (it can
    be positive: a density, not a probability). Its mean is not p: see `mean`; `probs` is p."""

    @property
    def probs(self) -> torch.Tensor:
        return torch.sigmoid(self.logits)

    @property
    def mean(self) -> torch.Tensor:
        """E[x] = p / (2p - 1) + 1 / (2 artanh(1 - 2p)) = 1/(1 - e^-l) - 1/l, and 1/2 at l = 0."""
        l = self.logits
        small = l.abs() < 1e-2
        safe = torch.where(small, torch.ones_like(l), l)
        return torch.where(small, 0.5 + l / 12, 1 / (-torch.expm1(-safe)) - 1 / safe)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """sum over the event dims of x log p + (1 - x) log(1 - p) + log C(p), nats; x in [0, 1]."""
        norm = log_cb_normaliser(self.logits).flatten(-self.event_dims).sum(-1)
        return super().log_prob(x) + norm

    def sample(self) -> torch.Tensor:
        """Inverse-CDF draw: x = log(1 + u (e^l - 1)) / l (u uniform), and u at l = 0."""
        l = self.logits
        u = torch.rand_like(l)
        small = l.abs() < 1e-4
        safe = torch.where(small, torch.ones_like(l), l)
        return torch.where(small, u, torch.log1p(u * torch.expm1(safe)) / safe).clamp(0.0, 1.0)


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
