"""Paths through latent space and decoding points on them: the maths behind the latent-space widgets.

All codes are float tensors of shape (d,) for one point or (N, d) for many; images come back as
(N, *data_shape), the mean of p(x|z) (pixel probabilities for a Bernoulli decoder).
"""
from __future__ import annotations

import torch

from ..checks import check_choice, check_finite, check_int

METHODS = ("linear", "spherical")


def _endpoints(z0: torch.Tensor, z1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z0, z1 = torch.as_tensor(z0), torch.as_tensor(z1)
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be two latent codes of one shape (d,), got {tuple(z0.shape)} and "
                         f"{tuple(z1.shape)}")
    dtype = torch.promote_types(torch.promote_types(z0.dtype, z1.dtype), torch.float32)
    return z0.to(dtype), z1.to(dtype)


def path_times(steps: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """`steps` evenly spaced t in [0, 1], both ends included: (steps,)."""
    check_int("steps", steps, 2)
    return torch.linspace(0.0, 1.0, steps, device=device, dtype=dtype)


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Straight line z(t) = (1 - t) z0 + t z1 at `steps` evenly spaced t in [0, 1]: (steps, d)."""
    z0, z1 = _endpoints(z0, z1)
    t = path_times(steps, z0.device, z0.dtype)[:, None]
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for generative models): (steps, d).

    Moves along the great circle between the directions of z0 and z1 while the norm changes linearly
    from |z0| to |z1|. Under a N(0, I) prior almost all mass sits near the sphere of radius sqrt(d), and
    the straight line's midpoint is shorter than both ends (an atypical code); the great circle is not.
    Nearly parallel (or zero) endpoints fall back to the straight line.
    """
    z0, z1 = _endpoints(z0, z1)
    t = path_times(steps, z0.device, z0.dtype)[:, None]
    n0, n1 = z0.norm(), z1.norm()
    if float(n0) < eps or float(n1) < eps:
        return lerp(z0, z1, steps)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos(torch.clamp((u0 * u1).sum(), -1.0, 1.0))
    if float(torch.sin(omega)) < 1e-4:
        return lerp(z0, z1, steps)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """lerp or slerp by name: method is 'linear' or 'spherical'. Returns (steps, d)."""
    check_choice("method", method, METHODS)
    return lerp(z0, z1, steps) if method == "linear" else slerp(z0, z1, steps)


def prior_codes(n: int, latent_dim: int, seed: int = 0) -> torch.Tensor:
    """n codes z ~ p(z) = N(0, I), (n, latent_dim), from their own seeded generator (global RNG untouched)."""
    check_int("n", n, 1)
    check_int("latent_dim", latent_dim, 1)
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


@torch.inference_mode()
def decode_mean(model, z: torch.Tensor) -> torch.Tensor:
    """The mean of p(x|z) for each code: z (d,) or (N, d) -> (N, *data_shape) on the model's device."""
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.dim() == 1:
        z = z[None]
    if z.dim() != 2 or z.shape[-1] != model.latent_dim:
        raise ValueError(f"z must have shape ({model.latent_dim},) or (N, {model.latent_dim}) for this model, "
                         f"got {tuple(z.shape)}")
    model.eval()
    return model.decode(z.to(model.device)).mean


@torch.inference_mode()
def encode_mean(model, x: torch.Tensor) -> torch.Tensor:
    """E_q[z|x] for each example: x (N, *data_shape) or one example (*data_shape) -> (N, d)."""
    x = check_finite("x", torch.as_tensor(x))
    if tuple(x.shape) == tuple(model.data_shape):
        x = x[None]
    model.eval()
    return model.encode(x.to(model.device)).mu


def decoded_path(model, x0: torch.Tensor, x1: torch.Tensor, steps: int, method: str = "linear") -> dict:
    """Encode two examples (each (*data_shape)), interpolate between their means, decode every point.

    Returns z (steps, d), t (steps,) and images (steps, *data_shape): images[0] and images[-1] are the
    reconstructions of x0 and x1 from their posterior means.
    """
    check_choice("method", method, METHODS)
    check_int("steps", steps, 2)
    z_ends = encode_mean(model, torch.stack([torch.as_tensor(x0), torch.as_tensor(x1)]))
    z = interpolate(z_ends[0], z_ends[1], steps, method)
    return {"z": z, "t": path_times(steps, z.device, z.dtype), "images": decode_mean(model, z)}


def traversal_codes(z0: torch.Tensor, dims, values) -> torch.Tensor:
    """Codes that move one dimension at a time away from z0 (d,): for each j in `dims` and each v in
    `values`, z0 with z_j set to v. Returns (len(dims), len(values), d): row r varies dims[r] only."""
    z0 = torch.as_tensor(z0, dtype=torch.float32)
    if z0.dim() != 1:
        raise ValueError(f"z0 must be one latent code of shape (d,), got {tuple(z0.shape)}")
    dims = [int(j) for j in torch.as_tensor(dims).flatten()]
    values = torch.as_tensor(values, dtype=torch.float32, device=z0.device).flatten()
    bad = [j for j in dims if not 0 <= j < z0.shape[0]]
    if not dims or bad or values.numel() == 0:
        raise ValueError(f"dims must be a non-empty list of dimensions in 0 .. {z0.shape[0] - 1} and values "
                         f"non-empty; got dims={dims}, {values.numel()} values")
    codes = z0.repeat(len(dims), values.numel(), 1)
    for r, j in enumerate(dims):
        codes[r, :, j] = values
    return codes


def decode_items(model, z: torch.Tensor, vocab=None):
    """What a code 'looks like': decode_mean for images (N, *data_shape); for a text model (pass the
    data's Vocabulary) the greedy decodings as a list of N sentences."""
    out = decode_mean(model, z)
    if vocab is None:
        if not torch.is_floating_point(out):
            raise ValueError("this model decodes to token ids: pass vocab (vaelab.data.vocabulary_of(dataset))")
        return out
    if torch.is_floating_point(out):
        raise ValueError("vocab was given, but this model decodes to images, not token ids; leave vocab=None")
    return vocab.decode(out.cpu())
