"""Maximum mean discrepancy (Gretton et al. 2012): kernels, the U- and V-statistic, a permutation test.

MMD²(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y), with x, x' ~ P and y, y' ~ Q. `mmd()` returns an
estimate of this SQUARED discrepancy from samples x (n, d) and y (m, d):
- unbiased=True (default): the U-statistic (Gretton et al. 2012, eq. 3). The i = j terms of the two
  within-sample sums are dropped and those sums divided by n(n-1) and m(m-1). Its mean over repeated
  samples is exactly MMD², so it fluctuates around 0 when P = Q and CAN BE NEGATIVE.
- unbiased=False: the V-statistic (eq. 5), every pair including i = j, divided by n², m², nm. It is
  >= 0 (for a positive semi-definite kernel) but biased upwards by O(1/n).

Kernels:
- 'imq', inverse multiquadratic, as in WAE (Tolstikhin et al. 2018): k(x, y) = Σ_s C_s / (C_s + ‖x-y‖²),
  C_s = 2·d·σ²·s, summed over scales s in SCALES; σ² is the variance of each prior coordinate (1 for
  N(0, I)). Its heavy tails keep a gradient even when the two samples are far apart.
- 'rbf', Gaussian: k(x, y) = exp(-‖x-y‖² / (2h²)), h = `bandwidth`. bandwidth='median' is Gretton et
  al.'s median heuristic: h = the median distance between distinct points of the pooled sample (x and y
  together; so h² = the median squared distance). The heuristic bandwidth is treated as a constant
  (no gradient flows through it).

Non-finite samples: the public functions (mmd, kernel_matrix, median_bandwidth, permutation_test) refuse NaN
or Inf in x or y with a ValueError naming the argument (check_finite: one host read). mmd_estimate is the same
statistic without that check and without any host read (IMQ kernel, or a fixed RBF bandwidth), for losses
computed every training step (objectives.infovae): there a NaN sample makes the loss NaN, and the training
loop's non-finite guard stops on it and names the step.
"""
from __future__ import annotations

import math

import torch

from ..checks import check_choice, check_finite, check_float, check_int

KERNELS = ("imq", "rbf")
SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
MEDIAN_POINTS = 2000      # the median heuristic looks at most at this many pooled points (evenly strided)


def _samples(name: str, a) -> torch.Tensor:
    if not torch.is_tensor(a):
        raise TypeError(f"{name} must be a torch.Tensor of shape (n, d), got {type(a).__name__}")
    if a.dim() != 2:
        raise ValueError(f"{name} must have shape (n, d): one row per sample, got shape {tuple(a.shape)}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(a.shape)}); pass at least one sample of dimension >= 1")
    return a if a.is_floating_point() else a.float()


def _finite_pair(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _pair(x, y)
    return check_finite("x", x), check_finite("y", y)


def _pair(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _samples("x", x), _samples("y", y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be samples of one dimension, got x of shape {tuple(x.shape)} (d={x.shape[1]}) "
                         f"and y of shape {tuple(y.shape)} (d={y.shape[1]})")
    return x, y


def check_scales(scales) -> tuple[float, ...]:
    if isinstance(scales, (str, bytes)) or not hasattr(scales, "__iter__"):
        raise TypeError(f"scales must be a list of numbers > 0, got {scales!r}")
    scales = tuple(scales)
    if not scales:
        raise ValueError(f"scales={scales!r} is empty; the IMQ kernel needs at least one scale > 0, "
                         f"e.g. the default {SCALES}")
    return tuple(check_float("scales entry", s, 0.0, strict=True) for s in scales)


def squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """‖x_i - y_j‖² for all pairs: (n, m), clamped at 0 against round-off."""
    d2 = (x * x).sum(-1)[:, None] + (y * y).sum(-1)[None, :] - 2.0 * x @ y.T
    return d2.clamp_min(0.0)


def median_bandwidth(x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """The median heuristic h: the median distance between distinct points of the pooled sample.

    Pools x and y (when given); above MEDIAN_POINTS points an evenly strided subset is used. Returns a
    Python float > 0 (1.0 when every point coincides, so the kernel stays defined).
    """
    pooled = check_finite("x", _samples("x", x)) if y is None else torch.cat(_finite_pair(x, y))
    return _median(pooled.detach())


def _median(pooled: torch.Tensor) -> float:
    if pooled.shape[0] < 2:
        raise ValueError("the median heuristic needs at least 2 points in the pooled sample, got "
                         f"{pooled.shape[0]}; pass a fixed bandwidth instead")
    if pooled.shape[0] > MEDIAN_POINTS:
        idx = torch.linspace(0, pooled.shape[0] - 1, MEDIAN_POINTS, device=pooled.device).long()
        pooled = pooled[idx]
    d2 = squared_distances(pooled, pooled)
    iu = torch.triu_indices(d2.shape[0], d2.shape[0], 1, device=d2.device)
    med = float(torch.quantile(d2[iu[0], iu[1]], 0.5))      # the middle two averaged for an even count
    return math.sqrt(med) if med > 0 else 1.0


def resolve_bandwidth(bandwidth, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """A float h > 0 from `bandwidth` (a number > 0, or 'median' for the median heuristic on x and y).
    x and y are not checked for NaN/Inf here (mmd_estimate calls this every training step; median_bandwidth does)."""
    if isinstance(bandwidth, str):
        check_choice("bandwidth", bandwidth, ["median"])
        return _median((_samples("x", x) if y is None else torch.cat(_pair(x, y))).detach())
    return check_float("bandwidth", bandwidth, 0.0, strict=True)


def kernel_matrix(x: torch.Tensor, y: torch.Tensor | None = None, kernel: str = "imq", *, bandwidth="median",
                  sigma2: float = 1.0, scales=SCALES) -> torch.Tensor:
    """K_ij = k(x_i, y_j): (n, m); y=None gives the Gram matrix of x, (n, n).

    kernel='imq': Σ_s C_s / (C_s + ‖x-y‖²), C_s = 2·d·sigma2·s. kernel='rbf': exp(-‖x-y‖² / (2h²)) with
    h = bandwidth (a number > 0, or 'median': the median heuristic on x and y pooled).
    NaN or Inf in x or y: ValueError.
    """
    if y is None:
        x = check_finite("x", _samples("x", x))
    else:
        x, y = _finite_pair(x, y)
    return _kernel_matrix(x, y, kernel, bandwidth=bandwidth, sigma2=sigma2, scales=scales)


def _kernel_matrix(x: torch.Tensor, y: torch.Tensor | None = None, kernel: str = "imq", *, bandwidth="median",
                   sigma2: float = 1.0, scales=SCALES) -> torch.Tensor:
    """kernel_matrix without the finiteness check (no host read for IMQ or a fixed bandwidth)."""
    check_choice("kernel", kernel, KERNELS)
    if y is None:
        x = y = _samples("x", x)
    else:
        x, y = _pair(x, y)
    d2 = squared_distances(x, y)
    if kernel == "imq":
        check_float("sigma2", sigma2, 0.0, strict=True)
        base = 2.0 * x.shape[1] * sigma2
        return sum(base * s / (base * s + d2) for s in check_scales(scales))
    h = resolve_bandwidth(bandwidth, x, None if y is x else y)
    return torch.exp(-d2 / (2.0 * h * h))


def mmd_from_kernels(kxx: torch.Tensor, kyy: torch.Tensor, kxy: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """MMD² from the three kernel blocks k(x,x) (n, n), k(y,y) (m, m), k(x,y) (n, m): a 0-dim tensor."""
    n, m = kxx.shape[0], kyy.shape[0]
    if unbiased:
        if n < 2 or m < 2:
            raise ValueError(f"the unbiased MMD estimator needs at least 2 samples on each side, got n={n} and m={m}; "
                             "draw more samples or use unbiased=False")
        sxx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
        syy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    else:
        sxx, syy = kxx.mean(), kyy.mean()
    return sxx + syy - 2.0 * kxy.mean()


def mmd(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq", *, unbiased: bool = True, bandwidth="median",
        sigma2: float = 1.0, scales=SCALES) -> torch.Tensor:
    """An estimate of MMD²(P, Q) from x (n, d) ~ P and y (m, d) ~ Q: a 0-dim tensor, differentiable in x and y.

    kernel: 'imq' (WAE's multi-scale inverse multiquadratic; sigma2 and scales set C_s = 2·d·sigma2·s)
    or 'rbf' (Gaussian; bandwidth h > 0, or 'median' = the median heuristic on the pooled sample,
    computed once so all three kernel blocks share it). unbiased: U-statistic (may be negative) or
    V-statistic. See the module docstring for the formulas. NaN or Inf in x or y: ValueError naming it
    (one host read; a loss computed every training step uses mmd_estimate, which skips it).
    """
    return mmd_estimate(*_finite_pair(x, y), kernel, unbiased=unbiased, bandwidth=bandwidth, sigma2=sigma2,
                        scales=scales)


def mmd_estimate(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq", *, unbiased: bool = True,
                 bandwidth="median", sigma2: float = 1.0, scales=SCALES) -> torch.Tensor:
    """mmd() without the finiteness check of x and y: no host read for the IMQ kernel or a fixed RBF
    bandwidth, so a training loss can call it every step. Non-finite samples give a non-finite estimate."""
    x, y = _pair(x, y)
    if unbiased and (x.shape[0] < 2 or y.shape[0] < 2):
        raise ValueError(f"the unbiased MMD estimator needs at least 2 samples in x and in y, got x of shape "
                         f"{tuple(x.shape)} and y of shape {tuple(y.shape)}; draw more or use unbiased=False")
    check_choice("kernel", kernel, KERNELS)
    if kernel == "rbf":
        bandwidth = resolve_bandwidth(bandwidth, x, y)
    opts = dict(kernel=kernel, bandwidth=bandwidth, sigma2=sigma2, scales=scales)
    return mmd_from_kernels(_kernel_matrix(x, None, **opts), _kernel_matrix(y, None, **opts),
                            _kernel_matrix(x, y, **opts), unbiased)


@torch.no_grad()
def permutation_test(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq", *, permutations: int = 200,
                     seed: int = 0, unbiased: bool = True, bandwidth="median", sigma2: float = 1.0,
                     scales=SCALES) -> dict:
    """Test H0: P = Q by permuting the pooled sample (Gretton et al. 2012, sec. 8).

    Under H0 the labels 'from x' / 'from y' are exchangeable, so relabelling the pooled points at random
    draws from the null distribution of the statistic. p = (1 + #{null >= observed}) / (1 + permutations),
    never 0. The kernel (and a median bandwidth) is computed once on the pooled sample. Returns
    {'mmd2': observed statistic (float), 'p_value': float, 'null': (permutations,) tensor, 'bandwidth'}.
    """
    x, y = _finite_pair(x, y)
    check_int("permutations", permutations, 1)
    check_choice("kernel", kernel, KERNELS)
    n, m = x.shape[0], y.shape[0]
    if unbiased and (n < 2 or m < 2):
        raise ValueError(f"the unbiased MMD estimator needs at least 2 samples in x and in y, got n={n} and m={m}")
    pooled = torch.cat([x, y])
    h = resolve_bandwidth(bandwidth, x, y) if kernel == "rbf" else None
    k = _kernel_matrix(pooled, None, kernel, bandwidth=h if h else 1.0, sigma2=sigma2, scales=scales)
    gen = torch.Generator().manual_seed(seed)
    perms = torch.stack([torch.randperm(n + m, generator=gen) for _ in range(permutations)])
    labels = torch.zeros(permutations + 1, n + m, dtype=k.dtype)
    labels[0, :n] = 1.0                                   # row 0: the observed split
    labels[1:].scatter_(1, perms[:, :n], 1.0)             # the others: random relabellings
    labels = labels.to(k.device)
    a, b = labels, 1.0 - labels
    diag = k.diagonal() if unbiased else torch.zeros(n + m, dtype=k.dtype, device=k.device)
    sxx = ((a @ k) * a).sum(1) - a @ diag
    syy = ((b @ k) * b).sum(1) - b @ diag
    sxy = ((a @ k) * b).sum(1)
    nxx, nyy = (n * (n - 1), m * (m - 1)) if unbiased else (n * n, m * m)
    stats = sxx / nxx + syy / nyy - 2.0 * sxy / (n * m)
    observed, null = stats[0], stats[1:]
    p = (1 + int((null >= observed).sum())) / (1 + permutations)
    return {"mmd2": float(observed), "p_value": p, "null": null.cpu(), "bandwidth": h}
