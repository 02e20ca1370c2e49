"""Reference solutions of the notebooks' exercises: what a student version runs on until the exercise is written.

Each function has the signature of the exercise function it stands for (named in its docstring), so that
`vaelab.checks.yours_or_reference(my_fn, reference, *args)` can call either. Where the package already has a
function with the exercise's signature (`metrics.lerp`, `objectives.cyclical_kl_weight`,
`metrics.conditional_log_probs`), the notebook passes that one instead. Try an exercise before you read its
solution here; each notebook's self-check compares your answer with the package's own computation.
"""
from __future__ import annotations

import math

import torch

from .data.text import PAD
from .metrics.latent_map import nearest_neighbours
from .models import DiagGaussian, standard_normal_log_prob
from .objectives import free_bits_kl, mmd_weight


# --- 01 · the ELBO and the latent space ---------------------------------------------------------------------------

def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """my_kl: KL(N(mu, diag exp(logvar)) || N(0, I)) per row, nats: ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)."""
    return DiagGaussian(mu, logvar).kl_standard()


def monte_carlo_kl(q, n: int) -> torch.Tensor:
    """my_mc_kl: the mean of log q(z) − log N(z; 0, I) over n draws z ~ q (torch's global generator), per row."""
    z = q.rsample(n)
    return (q.log_prob(z) - standard_normal_log_prob(z)).mean(0)


def reparam_sample(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """my_reparam_sample: z = μ + exp(½ log σ²) · ε, the reparameterized draw from N(μ, diag σ²) for the
    standard normal noise ε (same shape as mu); differentiable in mu and logvar (Kingma & Welling 2014)."""
    return mu + torch.exp(0.5 * logvar) * eps


# --- 02 · posterior collapse --------------------------------------------------------------------------------------

def perplexity_from_mean_nll(nll_per_sentence: float, x: torch.Tensor) -> float:
    """my_perplexity: exp(total nats / total tokens); tokens are the non-padding ids of x (N, T), EOS included."""
    tokens = int((x != PAD).sum())
    return math.exp(nll_per_sentence * x.shape[0] / tokens)


def free_bits_total(kl_dims, floor: float) -> float:
    """my_free_bits: Σ_j max(δ, KL_j) for the per-dimension KLs kl_dims (nats) and the floor δ."""
    return float(free_bits_kl(torch.as_tensor([list(kl_dims)], dtype=torch.float64), floor))


# --- 03 · the amortization gap ------------------------------------------------------------------------------------

def mean_gaps(log_px: torch.Tensor, elbo_q: torch.Tensor, elbo_qstar: torch.Tensor) -> tuple[float, float]:
    """my_gaps: (approximation gap, amortization gap), each the mean over examples of
    log p(x) − ELBO[q*] and ELBO[q*] − ELBO[q], nats."""
    return float((log_px - elbo_qstar).mean()), float((elbo_qstar - elbo_q).mean())


def grid_log_px(grid: dict) -> float:
    """my_log_px: log ∫ p(x, z) dz as a Riemann sum over the grid of `posterior_grid`: logsumexp of log p(x, z)
    over the cells plus the log of one cell's area."""
    area = float((grid["z1"][1] - grid["z1"][0]) * (grid["z2"][1] - grid["z2"][0]))
    return float(torch.logsumexp(grid["log_joint"].flatten(), 0)) + math.log(area)


def iwae_bound(log_w: torch.Tensor) -> float:
    """my_iwae_bound: the importance-weighted bound from log weights log_w (S, N), with
    log w = log p(x, z_s) − log q(z_s|x): the mean over the N examples of logsumexp over the S samples minus
    log S (Burda et al. 2016), nats."""
    return float((torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])).mean())


# --- 04 · MMD and InfoVAE -----------------------------------------------------------------------------------------

def unbiased_mmd2_from_gram(gram: torch.Tensor, n: int) -> torch.Tensor:
    """my_mmd2: the unbiased MMD² from the kernel (Gram) matrix of the pooled sample, x first (n) then y (m)."""
    m = gram.shape[0] - n
    kxx, kyy, kxy = gram[:n, :n], gram[n:, n:], gram[:n, n:]
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return within_x + within_y - 2 * kxy.mean()


def infovae_weights(alpha: float, lam: float) -> tuple[float, float]:
    """my_weights: (weight of the per-example KL, weight of MMD²) = (1 − α, α + γ − 1), with γ = lam; a ValueError
    when the MMD weight would be negative."""
    return 1.0 - alpha, mmd_weight(alpha, lam)


# --- 05 · semi-amortized VAEs -------------------------------------------------------------------------------------

def svi_refine(grad_f, mu: torch.Tensor, logvar: torch.Tensor, noise, lr: float, momentum: float, clip):
    """my_refine: len(noise) SVI steps with momentum from (mu, logvar), each (B, d); grad_f(mu, logvar, eps) gives
    the per-example gradients of −ELBO. Each example's (μ, log σ²) gradient is clipped jointly to norm `clip`
    (None: no clip); then v ← ρ v − g and λ ← λ + η v."""
    vm, vl = torch.zeros_like(mu), torch.zeros_like(logvar)
    for eps in noise:
        gm, gl = grad_f(mu, logvar, eps)
        if clip is not None:
            norm = torch.cat([gm, gl], -1).norm(dim=-1, keepdim=True)
            scale = torch.clamp(clip / norm, max=1.0)
            gm, gl = gm * scale, gl * scale
        vm, vl = momentum * vm - gm, momentum * vl - gl
        mu, logvar = mu + lr * vm, logvar + lr * vl
    return mu, logvar


def one_step_backward(f, lam0: torch.Tensor, eps0, eps1, eta: float) -> torch.Tensor:
    """my_backward: d ℓ(λ_1; ε_1) / d λ_0 for one plain step λ_1 = λ_0 − η ∇ℓ(λ_0; ε_0), where ℓ = f(λ, ε):
    (I − η H(λ_0)) ∇ℓ(λ_1), with H the Hessian of f(·, ε_0) at λ_0."""
    g0 = torch.func.grad(f)(lam0, eps0)
    lam1 = lam0 - eta * g0
    hessian = torch.autograd.functional.hessian(lambda lam: f(lam, eps0), lam0)
    return (torch.eye(lam0.shape[0], dtype=lam0.dtype) - eta * hessian) @ torch.func.grad(f)(lam1, eps1)


# --- 06 · the latent-space explorer -------------------------------------------------------------------------------

def nearest_indices(mu: torch.Tensor, i: int, k: int) -> torch.Tensor:
    """my_neighbours: the indices of the k rows of mu nearest to row i (Euclidean), nearest first, without i."""
    return nearest_neighbours(mu, i, k)[0]


# --- 07 · Langevin inference --------------------------------------------------------------------------------------

def langevin_steps(log_prob, z0: torch.Tensor, sizes, T: float, noise) -> torch.Tensor:
    """my_langevin: unadjusted Langevin, z ← z + ½ s² ∇ log_prob(z) + T s ε, for each step size s in sizes and
    ε in noise; returns the last z."""
    z = z0.clone()
    for s, eps in zip(sizes, noise):
        z = z.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(log_prob(z).sum(), z)
        z = z.detach() + 0.5 * s * s * g + T * s * eps
    return z.detach()


def log_partition_mc(f, n: int, generator: torch.Generator) -> float:
    """my_log_z: log (1/n) Σ_i exp f(z_i) with z_i ~ N(0, I) in 2-D drawn from generator, computed with logsumexp."""
    z = torch.randn((n, 2), generator=generator)
    with torch.no_grad():
        return float(torch.logsumexp(f(z).double(), 0) - math.log(n))
