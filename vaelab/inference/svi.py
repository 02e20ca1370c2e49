"""Per-example variational optimisation (SVI): fit each example's own q by gradient ascent on its ELBO.

Many examples run in parallel, but nothing couples them: the loss is the *sum* of per-example negative
ELBOs, so the gradient for example i is exactly the gradient of its own ELBO, and the optimiser state
(Adam moments, momentum, step counter, convergence) is kept per example. At each step one noise draw
eps (S, 1, d) is shared by all examples (common random numbers), so an example's path does not depend
on which other examples share its batch: optimising a batch gives the same q as optimising each alone.
The noise is drawn in the model's dtype (float64 models work) from a private CPU generator seeded with
`seed`; torch's global random state is left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..checks import check_choice, check_float, check_int
from ..models.distributions import DiagGaussian
from .families import dtype_of, elbo_with_noise, standard_noise

OPTIMIZERS = ("adam", "sgd")
INITS = ("encoder", "prior")


@dataclass
class SVIResult:
    """q: the refined q (detached). trace: (T, B) ELBO estimate at each step (nats; row t is the value
    before update t+1, on that step's noise); T = steps + 1, fewer when every example converged early. steps_taken: (B,) updates made before each example
    converged (or hit `steps`). converged: (B,) bool. path: {name: (steps + 1, B, ...)} when recorded."""

    q: object
    trace: torch.Tensor
    steps_taken: torch.Tensor
    converged: torch.Tensor
    path: dict = field(default_factory=dict)


def check_svi_args(steps, lr, optimizer, n_samples, momentum, tol, window, lr_end=None,
                   adam_betas=(0.9, 0.999)) -> None:
    check_int("steps", steps, 0)
    check_float("lr", lr, 0.0, strict=True)
    if lr_end is not None:
        check_float("lr_end", lr_end, 0.0, strict=True)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_int("n_samples", n_samples, 1)
    check_float("momentum", momentum, 0.0, maximum=0.999)
    if tol is not None:
        check_float("tol", tol, 0.0)
    check_int("window", window, 1)
    if len(adam_betas) != 2:
        raise ValueError(f"adam_betas must be two numbers (beta1, beta2) in [0, 1), got {adam_betas!r}")
    for name, beta in zip(("adam_betas[0]", "adam_betas[1]"), adam_betas):
        check_float(name, beta, 0.0, maximum=0.999999)


def optimize_per_example(params: dict, neg_elbo, *, steps: int, lr: float, optimizer: str = "adam",
                         momentum: float = 0.9, adam_betas=(0.9, 0.999), tol: float | None = None,
                         window: int = 25, record_path: bool = False, lr_end: float | None = None):
    """Minimise neg_elbo(params, step) -> (B,) separately for each example.

    params: {name: tensor with leading batch dim B}, updated as copies (the inputs are not modified).
    Convergence rule (tol not None): every `window` steps an example whose mean ELBO over the last window
    rose by less than `tol` nats over the window before is frozen; the loop ends when all are frozen.
    lr_end: when given, the step size stays lr for the first half of `steps`, then decays geometrically to
    lr_end over the second half (a smaller final
    step shrinks the jitter that gradient noise leaves around the optimum).
    Returns (params, trace (T <= steps + 1, B), steps_taken (B,), converged (B,), path).
    """
    p = {k: v.detach().clone() for k, v in params.items()}
    b = next(iter(p.values())).shape[0]
    dev = next(iter(p.values())).device
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v2 = {k: torch.zeros_like(v) for k, v in p.items()}
    t = torch.zeros(b, device=dev)
    active = torch.ones(b, dtype=torch.bool, device=dev)
    trace, path = [], {k: [v.clone()] for k, v in p.items()} if record_path else {}
    prev_window = None
    for step in range(steps + 1):
        with torch.enable_grad():
            leaves = {k: v.requires_grad_(True) for k, v in p.items()}
            loss = neg_elbo(leaves, step)
            grads = torch.autograd.grad(loss.sum(), list(leaves.values())) if step < steps else None
        trace.append(-loss.detach())
        if grads is None:
            break
        t = t + active
        frac = max(0.0, 2 * step / max(steps - 1, 1) - 1)                   # 0 for the first half of the steps
        rate = lr if lr_end is None else lr * (lr_end / lr) ** frac
        for (k, val), g in zip(p.items(), grads):
            mask = active.view(-1, *[1] * (val.dim() - 1)).to(val.dtype)
            if optimizer == "adam":
                b1, b2 = adam_betas
                m[k] = torch.where(mask.bool(), b1 * m[k] + (1 - b1) * g, m[k])
                v2[k] = torch.where(mask.bool(), b2 * v2[k] + (1 - b2) * g * g, v2[k])
                tt = t.clamp(min=1).view(-1, *[1] * (val.dim() - 1))
                m_hat = m[k] / (1 - b1 ** tt)
                v_hat = v2[k] / (1 - b2 ** tt)
                update = m_hat / (v_hat.sqrt() + 1e-8)
            else:
                m[k] = torch.where(mask.bool(), momentum * m[k] + g, m[k])
                update = m[k]
            p[k] = (val.detach() - rate * mask * update).detach()
        if record_path:
            for k in p:
                path[k].append(p[k].clone())
        if tol is not None and (step + 1) % window == 0:
            now = torch.stack(trace[-window:]).mean(0)
            if prev_window is not None:
                active = active & ((now - prev_window) >= tol)
            prev_window = now
            if not bool(active.any()):
                break
    trace = torch.stack(trace)
    converged = ~active if tol is not None else torch.zeros(b, dtype=torch.bool, device=dev)
    path = {k: torch.stack(v) for k, v in path.items()}
    p = {k: v.detach() for k, v in p.items()}
    return p, trace, t.long(), converged, path


def refine(model, x: torch.Tensor, init="encoder", *, steps: int = 200, lr: float = 0.05,
           optimizer: str = "adam", n_samples: int = 10, momentum: float = 0.9, tol: float | None = None,
           window: int = 25, seed: int = 0, record_path: bool = False, lr_end: float | None = None,
           adam_betas=(0.9, 0.999)) -> SVIResult:
    """q* for each example of x (B, *data_shape): the diagonal Gaussian that maximises its own ELBO.

    init: 'encoder' (start from q(z|x)), 'prior' (mu = 0, logvar = 0, no encoder used: the SVI of Kim et
    al. 2018) or a DiagGaussian with B rows. Each step uses n_samples reparameterized draws per example.
    optimizer: 'adam' or 'sgd' (with `momentum`); lr > 0 (decaying to lr_end when given); steps >= 0 (0
    returns the initial q). tol, window: the convergence rule of optimize_per_example (None: run all steps).
    adam_betas: Adam's (beta1, beta2); a shorter memory of squared gradients
    (beta2 = 0.9) lets the step grow back once the large gradients of a poor start are gone (inference_gaps).
    """
    check_svi_args(steps, lr, optimizer, n_samples, momentum, tol, window, lr_end, adam_betas)
    model.eval()
    x = x.to(model.device)
    if isinstance(init, DiagGaussian):
        q0 = init
    else:
        check_choice("init", init, INITS)
        if init == "encoder":
            with torch.no_grad():
                q0 = model.encode(x)
        else:
            zeros = torch.zeros(x.shape[0], model.latent_dim, device=x.device, dtype=dtype_of(model))
            q0 = DiagGaussian(zeros, zeros.clone())
    gen = torch.Generator().manual_seed(seed)
    d, dtype = model.latent_dim, dtype_of(model)

    def neg_elbo(prm, step):
        eps = standard_noise(n_samples, d, gen, x.device, dtype=dtype)
        return -elbo_with_noise(model, x, DiagGaussian(prm["mu"], prm["logvar"]), eps)

    p, trace, taken, conv, path = optimize_per_example(
        {"mu": q0.mu, "logvar": q0.logvar}, neg_elbo, steps=steps, lr=lr, optimizer=optimizer,
        momentum=momentum, tol=tol, window=window, record_path=record_path, lr_end=lr_end, adam_betas=adam_betas)
    return SVIResult(DiagGaussian(p["mu"], p["logvar"]), trace, taken, conv, path)
