"""How well the aggregate posterior q(z) = E_x q(z|x) matches the prior p(z) = N(0, I): MMD² between samples.

A VAE's samples come from decoding z ~ p(z). If q(z), where the decoder was trained, leaves holes in
the prior or spills outside it, those prior draws land where the decoder never learned anything.
`mmd_prior` measures that mismatch; `two_sample_demo` is the maths behind the two-sample widget.
"""
from __future__ import annotations

import torch

from ..checks import check_finite, check_float, check_int
from ..objectives.mmd import KERNELS, kernel_matrix, mmd, permutation_test, resolve_bandwidth

MAX_POINTS = 5000    # mmd_prior uses at most this many examples (an evenly strided subset) to bound memory


def aggregate_posterior_samples(mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One z_i ~ q(z|x_i) per example, from encoder means and log-variances (N, d): samples of q(z), (N, d).

    Uses its own seeded generator (the global RNG is untouched), so the same encodings give the same samples.
    """
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn(mu.shape, generator=gen).to(mu.device, mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def prior_samples(n: int, latent_dim: int, seed: int = 0, device=None) -> torch.Tensor:
    """n draws from p(z) = N(0, I), (n, latent_dim), from a private generator seeded with seed + 1
    (a different stream from aggregate_posterior_samples with the same seed)."""
    check_int("n", n, 1)
    check_int("latent_dim", latent_dim, 1)
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed + 1)).to(device)


@torch.no_grad()
def mmd_prior(mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0, kernel: str = "imq",
              max_points: int = MAX_POINTS) -> float:
    """Unbiased MMD²(q(z), p(z)) between one z ~ q(z|x) per example and as many fresh prior draws.

    mu, logvar: (N, d) encoder outputs on a split (vaelab.metrics.encode_all). Above max_points examples,
    an evenly strided subset is used. kernel: 'imq' (default; WAE's multi-scale kernel with σ² = 1, the
    prior's variance) or 'rbf' (median heuristic). About 0 when q(z) = p(z); it can be slightly negative.
    """
    check_int("max_points", max_points, 2)
    if mu.dim() != 2 or mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must both have shape (N, d), got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    check_finite("mu", mu)
    check_finite("logvar", logvar)
    if mu.shape[0] > max_points:
        idx = torch.linspace(0, mu.shape[0] - 1, max_points, device=mu.device).long()
        mu, logvar = mu[idx], logvar[idx]
    zq = aggregate_posterior_samples(mu.float(), logvar.float(), seed)
    zp = prior_samples(zq.shape[0], zq.shape[1], seed, zq.device)
    return float(mmd(zq, zp, kernel))


@torch.no_grad()
def two_sample_demo(shift: float = 0.5, n: int = 100, bandwidth=1.0, kernel: str = "rbf", dim: int = 2,
                    permutations: int = 200, seed: int = 0) -> dict:
    """The two-sample problem behind the MMD widget: x ~ N(0, I) and y ~ N(shift·e_1, I) in `dim` dims.

    Returns x, y (n, dim); K, the kernel matrix of the pooled sample (2n, 2n) (x first, then y);
    mmd2_u and mmd2_v (the unbiased and biased estimates); p_value and null (a permutation test on the
    same kernel); bandwidth (the h used; the median heuristic's value for bandwidth='median').
    """
    check_float("shift", shift, float("-inf"))
    check_int("n", n, 2)
    check_int("dim", dim, 1)
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r} is not one of the accepted choices: {', '.join(map(repr, KERNELS))}")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=gen)
    y = torch.randn(n, dim, generator=gen)
    y[:, 0] += shift
    h = resolve_bandwidth(bandwidth, x, y) if kernel == "rbf" else None
    opts = dict(kernel=kernel, bandwidth=h or 1.0)
    test = permutation_test(x, y, permutations=permutations, seed=seed, **opts)
    return {"x": x, "y": y, "K": kernel_matrix(torch.cat([x, y]), None, **opts),
            "mmd2_u": float(mmd(x, y, unbiased=True, **opts)), "mmd2_v": float(mmd(x, y, unbiased=False, **opts)),
            "p_value": test["p_value"], "null": test["null"], "bandwidth": h}
