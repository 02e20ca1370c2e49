"""Encoder and decoder networks: MLP and small conv. All accept extra leading (sample) dims."""
from __future__ import annotations

import math

from torch import nn


def _mlp(sizes: list[int], act=nn.ELU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """x (B, *shape) -> (mu, logvar), each (B, d)."""

    def __init__(self, data_shape: tuple, latent_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = _mlp([math.prod(data_shape), *hidden, 2 * latent_dim])

    def forward(self, x):
        mu, logvar = self.net(x.flatten(1)).chunk(2, dim=-1)
        return mu, logvar


class MLPDecoder(nn.Module):
    """z (..., d) -> parameters (..., *shape)."""

    def __init__(self, data_shape: tuple, latent_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.net = _mlp([latent_dim, *reversed(hidden), math.prod(data_shape)])

    def forward(self, z):
        return self.net(z).reshape(*z.shape[:-1], *self.data_shape)


def _check_image(data_shape, who):
    if len(data_shape) != 3 or data_shape[1] % 4 or data_shape[2] % 4:
        raise ValueError(f"{who} needs images of shape (C, H, W) with H and W divisible by 4, got data_shape={tuple(data_shape)}")


class ConvEncoder(nn.Module):
    """Two stride-2 3x3 convs (H -> H/4), then a linear layer to (mu, logvar)."""

    def __init__(self, data_shape: tuple, latent_dim: int, channels: int = 32, hidden: int = 256):
        super().__init__()
        _check_image(data_shape, "the conv encoder")
        c, h, w = data_shape
        self.net = nn.Sequential(
            nn.Conv2d(c, channels, 3, 2, 1), nn.ELU(),
            nn.Conv2d(channels, 2 * channels, 3, 2, 1), nn.ELU(), nn.Flatten(),
            nn.Linear(2 * channels * (h // 4) * (w // 4), hidden), nn.ELU(),
            nn.Linear(hidden, 2 * latent_dim))

    def forward(self, x):
        mu, logvar = self.net(x).chunk(2, dim=-1)
        return mu, logvar


class ConvDecoder(nn.Module):
    """Linear to a (2C', H/4, W/4) map, then two stride-2 transposed convs back to (C, H, W)."""

    def __init__(self, data_shape: tuple, latent_dim: int, channels: int = 32, hidden: int = 256):
        super().__init__()
        _check_image(data_shape, "the conv decoder")
        self.data_shape = c, h, w = tuple(data_shape)
        self.map_shape = (2 * channels, h // 4, w // 4)
        self.fc = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ELU(), nn.Linear(hidden, math.prod(self.map_shape)), nn.ELU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1), nn.ELU(),
            nn.ConvTranspose2d(channels, c, 4, 2, 1))

    def forward(self, z):
        lead = z.shape[:-1]
        h = self.fc(z.reshape(-1, z.shape[-1])).reshape(-1, *self.map_shape)
        return self.deconv(h).reshape(*lead, *self.data_shape)
