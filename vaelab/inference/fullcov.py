"""The richer family: a full-covariance Gaussian q = N(mu, L L^T) per example, optimised like svi.refine.

L is parameterised by its strict lower triangle and the log of its diagonal, so any values are valid.
In a linear-Gaussian model the true posterior is in this family, so its approximation gap is 0.
"""
from __future__ import annotations

import torch

from ..checks import check_choice
from ..models.distributions import DiagGaussian
from .families import FullGaussian, dtype_of, elbo_with_noise, standard_noise
from .svi import SVIResult, check_svi_args, optimize_per_example


def _scale_tril(log_diag: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    return torch.tril(lower, -1) + torch.diag_embed(torch.exp(log_diag))


def refine_fullcov(model, x: torch.Tensor, init="encoder", *, steps: int = 200, lr: float = 0.05,
                   optimizer: str = "adam", n_samples: int = 10, momentum: float = 0.9,
                   tol: float | None = None, window: int = 25, seed: int = 0,
                   record_path: bool = False, lr_end: float | None = None, adam_betas=(0.9, 0.999)) -> SVIResult:
    """The best full-covariance Gaussian for each example of x, by per-example gradient ascent on its ELBO.

    init: 'encoder', 'prior', a DiagGaussian (e.g. the diagonal q*) or a FullGaussian, with B rows.
    Other arguments as in svi.refine (noise in the model's dtype from a private CPU generator seeded with
    `seed`). result.q is a FullGaussian; path (when recorded) holds mu, log_diag and lower, from which
    scale_tril = tril(lower, -1) + diag(exp(log_diag)).
    """
    check_svi_args(steps, lr, optimizer, n_samples, momentum, tol, window, lr_end, adam_betas)
    model.eval()
    x = x.to(model.device)
    dtype = dtype_of(model)
    if isinstance(init, FullGaussian):
        q0 = init
    elif isinstance(init, DiagGaussian):
        q0 = FullGaussian.from_diag(init)
    else:
        check_choice("init", init, ("encoder", "prior"))
        if init == "encoder":
            with torch.no_grad():
                q0 = FullGaussian.from_diag(model.encode(x))
        else:
            b, d = x.shape[0], model.latent_dim
            q0 = FullGaussian(torch.zeros(b, d, device=x.device, dtype=dtype),
                              torch.eye(d, device=x.device, dtype=dtype).expand(b, d, d))
    gen = torch.Generator().manual_seed(seed)
    d = model.latent_dim
    start = {"mu": q0.mu, "log_diag": torch.log(torch.diagonal(q0.scale_tril, dim1=-2, dim2=-1)),
             "lower": torch.tril(q0.scale_tril, -1)}

    def neg_elbo(prm, step):
        eps = standard_noise(n_samples, d, gen, x.device, dtype=dtype)
        return -elbo_with_noise(model, x, FullGaussian(prm["mu"], _scale_tril(prm["log_diag"], prm["lower"])), eps)

    p, trace, taken, conv, path = optimize_per_example(
        start, neg_elbo, steps=steps, lr=lr, optimizer=optimizer, momentum=momentum, tol=tol, window=window,
        record_path=record_path, lr_end=lr_end, adam_betas=adam_betas)
    q = FullGaussian(p["mu"], _scale_tril(p["log_diag"], p["lower"]))
    return SVIResult(q, trace, taken, conv, path)
