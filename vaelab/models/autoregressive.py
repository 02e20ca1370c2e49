"""The likelihood object of an autoregressive decoder: p(x|z) = prod_t p(x_t | x_<t, z).

Unlike a factorized decoder, the network needs x itself (teacher forcing) to score x, so decode(z)
returns this lazy object and the network runs inside log_prob(x). It speaks the same interface as
vaelab.models.distributions.Bernoulli: log_prob(x) summed per example (nats), .mean, .sample().
"""
from __future__ import annotations

import torch


class Autoregressive:
    """decoder: a module with log_prob(z, x) -> (N,), sample(z) -> (N, *shape) and mean(z); z: (..., d).

    x in log_prob may have fewer leading dims than z (e.g. x (B, *shape) against z (K, B, d)): it is
    broadcast, the way the factorized likelihoods broadcast their parameters.
    """

    def __init__(self, decoder, z: torch.Tensor, event_dims: int):
        self.decoder, self.z, self.event_dims = decoder, z, event_dims

    def _flat(self, x: torch.Tensor):
        lead = self.z.shape[:-1]
        event = x.shape[x.dim() - self.event_dims:]
        xb = x.expand(*lead, *event).reshape(-1, *event)
        return self.z.reshape(-1, self.z.shape[-1]), xb, lead

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """sum_t log p(x_t | x_<t, z): shape z.shape[:-1]."""
        z, xb, lead = self._flat(x)
        return self.decoder.log_prob(z, xb).reshape(lead)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The predicted distribution's parameters at every position, given x_<t (teacher forcing)."""
        z, xb, lead = self._flat(x)
        out = self.decoder.logits(z, xb)
        return out.reshape(*lead, *out.shape[1:])

    def _run(self, fn):
        lead = self.z.shape[:-1]
        out = fn(self.z.reshape(-1, self.z.shape[-1]))
        return out.reshape(*lead, *out.shape[1:])

    @property
    def mean(self) -> torch.Tensor:
        """Greedy (text: argmax tokens) or per-pixel probabilities along one ancestral sample (images)."""
        return self._run(self.decoder.mean)

    def sample(self) -> torch.Tensor:
        """Ancestral sampling, one position at a time."""
        return self._run(self.decoder.sample)
