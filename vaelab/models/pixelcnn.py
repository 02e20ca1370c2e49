"""A PixelCNN-style decoder for binary images (van den Oord et al. 2016), conditioned on z.

p(x|z) = prod_i Bernoulli(x_i; sigmoid(f_i(x_<i, z))) in raster order (row by row, left to right).
Causality comes from masked convolutions: the first layer (mask 'A') sees only pixels strictly before the
centre; later layers (mask 'B') may also see the centre, which by then holds only the past. `layers` is the
strength knob: with k x k kernels the receptive field reaches (k // 2) * layers rows up, so more layers
let the decoder model more of the image on its own, and the pressure to use z drops.
z enters as a per-channel bias in every layer (conditioning='global': the conditional PixelCNN of van den
Oord et al. 2016, where z can only steer the network through its biases) and, with conditioning='spatial',
also as a learned (channels, H, W) map added after the first layer (as in PixelVAE, Gulrajani et al. 2017),
which hands z a direct per-pixel route and makes it much harder to ignore.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int


CONDITIONING = ("spatial", "global")


class MaskedConv2d(nn.Conv2d):
    """A same-padded k x k convolution whose weights are zero at and after the centre ('A') or after it ('B')."""

    def __init__(self, c_in: int, c_out: int, kernel: int, mask_type: str):
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type={mask_type!r} is not one of 'A', 'B'")
        super().__init__(c_in, c_out, kernel, padding=kernel // 2)
        mask = torch.ones_like(self.weight)
        c = kernel // 2
        mask[:, :, c, c + (mask_type == "B"):] = 0
        mask[:, :, c + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNNDecoder(nn.Module):
    """z (N, d), x (N, C, H, W) binary -> logits (N, C, H, W). C must be 1 (one binary channel)."""

    autoregressive = True
    event_dims = 3

    def __init__(self, data_shape, latent_dim: int, channels: int = 32, layers: int = 3, kernel: int = 3,
                 hidden: int = 200, conditioning: str = "spatial"):
        super().__init__()
        if len(data_shape) != 3 or data_shape[0] != 1:
            raise ValueError(f"the 'pixelcnn' model needs one-channel images of shape (1, H, W), got data_shape="
                             f"{tuple(data_shape)}; text data goes with the 'lstm' model")
        check_int("layers", layers, 1)
        check_int("channels", channels, 1)
        if conditioning not in CONDITIONING:
            raise ValueError(f"conditioning={conditioning!r} is not one of {CONDITIONING}")
        self.conditioning = conditioning
        if kernel < 3 or kernel % 2 == 0:
            raise ValueError(f"kernel must be an odd integer >= 3, got {kernel!r}")
        self.data_shape = tuple(data_shape)
        self.channels, self.layers = channels, layers
        _, h, w = data_shape
        self.z_map = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ELU(), nn.Linear(hidden, channels * h * w)) \
            if conditioning == "spatial" else None
        self.z_bias = nn.Linear(latent_dim, channels * layers)
        self.convs = nn.ModuleList([MaskedConv2d(1, channels, kernel, "A")] +
                                   [MaskedConv2d(channels, channels, kernel, "B") for _ in range(layers - 1)])
        self.head = nn.Conv2d(channels, 1, 1)
        self.activations_per_element = 3 * channels   # floats per pixel: sizes importance-sampling chunks

    def logits(self, z, x):
        if not torch.is_floating_point(x):
            raise TypeError(f"the PixelCNN decoder needs float images (N, 1, H, W), got dtype {x.dtype}; "
                            "token ids go with the 'lstm' model")
        n = x.shape[0]
        bias = self.z_bias(z).reshape(n, self.layers, self.channels, 1, 1)
        h = self.convs[0](x) + bias[:, 0]
        if self.z_map is not None:
            h = h + self.z_map(z).reshape(n, self.channels, *self.data_shape[1:])
        for i, conv in enumerate(self.convs[1:], start=1):
            h = h + conv(F.elu(h)) + bias[:, i]           # residual: deep stacks still train
        return self.head(F.elu(h))

    def log_prob(self, z, x):
        logits = self.logits(z, x)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def _generate(self, z):
        x = torch.zeros(z.shape[0], *self.data_shape, device=z.device)
        probs = torch.zeros_like(x)
        _, h, w = self.data_shape
        for i in range(h):
            for j in range(w):
                p = torch.sigmoid(self.logits(z, x)[:, 0, i, j])
                probs[:, 0, i, j] = p
                x[:, 0, i, j] = torch.bernoulli(p)
        return x, probs

    def sample(self, z):
        return self._generate(z)[0]

    def mean(self, z):
        """Per-pixel probabilities along one ancestral sample (the exact mean would need every history)."""
        return self._generate(z)[1]

    def receptive_rows(self) -> int:
        """How many rows above a pixel its prediction can reach: (kernel // 2) per layer."""
        return self.layers * (self.convs[0].kernel_size[0] // 2)


