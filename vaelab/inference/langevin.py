"""Langevin dynamics on a latent density: unadjusted (ULA) and Metropolis-adjusted (MALA) chains.

One step, for a log density log p(z) known up to a constant (MATH.md, "Langevin inference"):

    z <- z + ½ s_i² ∇_z log p(z) + T s_i ε,     ε ~ N(0, I).

With T = 1 and s -> 0 the chain's law approaches p; at a finite step it is biased (ULA). With T ≠ 1 it is the same
chain for the tempered target p^(1/T²) at step T s, so it approaches p^(1/T²): the temperature multiplies only the
noise, as in the SRI code (T = 0.2 there). T = 0 is noiseless gradient ascent. MALA accepts each proposal with the
Metropolis–Hastings ratio for p^(1/T²), so its law is exact at any step size.

Short-run inference (SRI; Pang, Nijkamp, Han & Wu 2021) runs about 20 steps from the prior N(0, I); the latent
EBM prior (Pang et al. 2020) is sampled by about 60 steps. Such a short run is *not* at equilibrium:
gaussian_langevin_law gives the exact law of the chain on a Gaussian target (e.g. the pPCA posterior) to measure
that bias.

All chains of a batch run together (no loop over examples, no host reads inside the loop); the gradient of
log_prob is taken per step and no graph spans two steps: the result is detached.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ..checks import check_choice, check_float, check_int
from ..models.distributions import standard_normal_log_prob

SCHEDULES = ("linear", "geometric")
# The SRI code's step sizes for its 20 steps (bpucla/sri_text, train_sri.py, RNNVAE.step_sizes), used with T = 0.2.
SRI_STEP_SIZES = (0.8, 0.7, 0.6, 0.5, 0.2, 0.2, 0.1, 0.1, 0.05) + (0.05,) * 11
SRI_TEMPERATURE = 0.2


def _schedule(step_size, steps: int) -> list[float]:
    check_int("steps", steps, 1)
    if isinstance(step_size, tuple) and step_size and isinstance(step_size[0], str):
        if len(step_size) != 3:
            raise ValueError(f"step_size={step_size!r}: a schedule is a tuple (kind, start, end) with kind one of "
                             f"{', '.join(map(repr, SCHEDULES))}")
        kind, start, end = step_size
        check_choice("step_size schedule", kind, SCHEDULES)
        start = check_float("step_size start", start, 0.0, strict=True)
        end = check_float("step_size end", end, 0.0, strict=True)
        if steps == 1:
            return [start]
        t = [i / (steps - 1) for i in range(steps)]
        if kind == "linear":
            return [start + (end - start) * u for u in t]
        return [start * (end / start) ** u for u in t]
    if isinstance(step_size, bool):
        raise TypeError(f"step_size must be a number, a sequence of numbers or a schedule tuple, got {step_size!r}")
    if isinstance(step_size, (int, float)):
        sizes = [float(step_size)] * steps
    else:
        try:
            sizes = [float(s) for s in (step_size.reshape(-1).tolist() if torch.is_tensor(step_size) else step_size)]
        except TypeError:
            raise TypeError(f"step_size must be a number, a sequence of {steps} numbers or a tuple "
                            f"('linear'|'geometric', start, end), got {step_size!r}") from None
        if len(sizes) != steps:
            raise ValueError(f"step_size has {len(sizes)} sizes but steps={steps}: give one size per step")
    bad = [s for s in sizes if not (math.isfinite(s) and s > 0)]
    if bad:
        raise ValueError(f"step_size must be finite and > 0 at every step, got {bad[0]!r}")
    return sizes


def step_sizes(step_size, steps: int) -> torch.Tensor:
    """The per-step sizes s_i as a float tensor (steps,). step_size: a number (constant), a sequence of `steps`
    numbers (e.g. SRI_STEP_SIZES), or ('linear' | 'geometric', start, end) from start to end inclusive.
    Every size must be finite and > 0; steps >= 1."""
    return torch.tensor(_schedule(step_size, steps))


class LangevinResult(NamedTuple):
    z: torch.Tensor                      # (B, d) final state, detached
    accept_rate: torch.Tensor | None     # (B,) fraction of MALA proposals accepted, per chain; None without MALA
    trace: torch.Tensor | None           # (steps + 1, B, d) every state from z0 on, when trace=True


def _randn(shape, like: torch.Tensor, generator):
    """Normals drawn on the generator's device (a CPU generator reproduces the numbers for any device), then moved."""
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)


def _rand(shape, like: torch.Tensor, generator):
    if generator is None:
        return torch.rand(shape, device=like.device, dtype=like.dtype)
    return torch.rand(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)


def _value_and_grad(log_prob, z: torch.Tensor):
    """(log p(z) (B,), ∇_z log p(z) (B, d)), both detached: a graph for this one gradient only."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        lp = log_prob(z)
        if not torch.is_tensor(lp) or lp.shape != z.shape[:1]:
            got = tuple(lp.shape) if torch.is_tensor(lp) else type(lp).__name__
            raise ValueError(f"log_prob must map z {tuple(z.shape)} to one log density per chain, shape "
                             f"({z.shape[0]},), got {got}")
        (g,) = torch.autograd.grad(lp.sum(), z, allow_unused=True)
    return lp.detach(), (torch.zeros_like(z) if g is None else g)


def _check_z0(z0, name="z0"):
    if not torch.is_tensor(z0) or not z0.is_floating_point() or z0.dim() != 2 or z0.shape[0] < 1 or z0.shape[1] < 1:
        got = f"shape {tuple(z0.shape)}, dtype {z0.dtype}" if torch.is_tensor(z0) else type(z0).__name__
        raise ValueError(f"{name} must be a floating-point (B, d) tensor of chain starts with B, d >= 1, got {got}")


def langevin(log_prob, z0: torch.Tensor, *, steps: int, step_size=0.1, temperature: float = 1.0, mala: bool = False,
             generator: torch.Generator | None = None, trace: bool = False) -> LangevinResult:
    """Run B independent Langevin chains from z0 (B, d) for `steps` steps; see the module docstring.

    log_prob: z (B, d) -> (B,) log density up to a constant, differentiable in z; chain b must depend on row b
    only. step_size: see step_sizes. temperature T >= 0 (target p^(1/T²)); mala=True needs T > 0: proposal
    N(z + ½ s² ∇log p(z), T² s² I), accepted per chain with probability
    min(1, [p(z')/p(z)]^(1/T²) q(z|z') / q(z'|z)); a proposal whose log density is NaN is rejected.
    generator: a torch.Generator for every draw (normals, and uniforms for MALA), on its own device; None: the
    global RNG. The ULA chain has no guard: a step too large for log p diverges to Inf/NaN, which it returns.
    Returns LangevinResult(z (B, d), accept_rate (B,) or None, trace (steps + 1, B, d) or None), all detached."""
    sizes = _schedule(step_size, steps)
    temperature = check_float("temperature", temperature, 0.0)
    if mala and temperature == 0:
        raise ValueError("mala=True needs temperature > 0 (at T = 0 the target p^(1/T²) is a point mass and "
                         "every move would be rejected); got temperature=0")
    _check_z0(z0)
    T = temperature
    with torch.inference_mode(False):
        z = z0.detach().clone()
        states = [z] if trace else None
        lp, g = _value_and_grad(log_prob, z)
        accepted = torch.zeros(z.shape[0], device=z.device, dtype=z.dtype) if mala else None
        for i, s in enumerate(sizes):
            mean = z + 0.5 * s * s * g
            z_new = mean + T * s * _randn(z.shape, z, generator) if T > 0 else mean
            if mala:
                lp_new, g_new = _value_and_grad(log_prob, z_new)
                var2 = 2.0 * (T * s) ** 2
                log_fwd = -((z_new - mean) ** 2).sum(-1) / var2
                log_bwd = -((z - z_new - 0.5 * s * s * g_new) ** 2).sum(-1) / var2
                log_ratio = (lp_new - lp) / T ** 2 + log_bwd - log_fwd
                ok = torch.log(_rand(z.shape[:1], z, generator)) < log_ratio
                z = torch.where(ok[:, None], z_new, z)
                lp, g = torch.where(ok, lp_new, lp), torch.where(ok[:, None], g_new, g)
                accepted = accepted + ok.to(z.dtype)
            else:
                z = z_new
                if i + 1 < len(sizes):                    # the last state's gradient is never used
                    lp, g = _value_and_grad(log_prob, z)
            if trace:
                states.append(z)
    return LangevinResult(z, accepted / len(sizes) if mala else None, torch.stack(states) if trace else None)


def log_joint(model, x: torch.Tensor, prior=None):
    """The callable z (B, d) -> log p(x|z) + log p(z) (B,), nats: model.decode(z).log_prob(x) plus
    log N(z; 0, I) (prior None) or prior.log_prob_unnormalised(z) (an EBMPrior: log p_a(z) up to log Z_a, a
    constant in z, so the chain's law is the same)."""
    log_prior = standard_normal_log_prob if prior is None else prior.log_prob_unnormalised

    def log_p(z):
        return model.decode(z).log_prob(x) + log_prior(z)

    return log_p


def _float_like(module: torch.nn.Module) -> torch.Tensor:
    p = next((t for t in module.parameters() if t.is_floating_point()), None)
    return p if p is not None else torch.empty(0)


def posterior_langevin(model, x: torch.Tensor, *, steps: int = 20, step_size=0.1, temperature: float = 1.0,
                       mala: bool = False, z0=None, prior=None, generator=None, trace: bool = False) -> LangevinResult:
    """Langevin chains on the posterior p(z | x) ∝ p(x|z) p(z), one per row of x (B, *data_shape).

    z0: the starts (B, model.latent_dim); None draws them from N(0, I) (SRI's short run starts at the prior).
    prior: None for N(0, I), or an EBMPrior. For SRI's settings pass step_size=SRI_STEP_SIZES, steps=20,
    temperature=SRI_TEMPERATURE. The model's train/eval mode is left as it is (dropout stays on in train mode).
    See langevin for the rest."""
    if not torch.is_tensor(x) or x.dim() < 1 or x.shape[0] < 1:
        raise ValueError(f"x must be a batch (B, *data_shape) with B >= 1, got "
                         f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
    if x.is_inference():                  # made under inference_mode: autograd may need to save it
        with torch.inference_mode(False):
            x = x.clone()
    shape = (x.shape[0], model.latent_dim)
    if z0 is None:
        z0 = _randn(shape, _float_like(model), generator)
    elif not torch.is_tensor(z0) or tuple(z0.shape) != shape:
        raise ValueError(f"z0 must have shape (B, latent_dim) = {shape} for x of batch size {x.shape[0]}, got "
                         f"{tuple(z0.shape) if torch.is_tensor(z0) else type(z0).__name__}")
    return langevin(log_joint(model, x, prior), z0, steps=steps, step_size=step_size, temperature=temperature,
                    mala=mala, generator=generator, trace=trace)


def prior_langevin(prior, n: int | None = None, *, z0=None, steps: int = 60, step_size=0.4,
                   temperature: float = 1.0, mala: bool = False, generator=None, trace: bool = False) -> LangevinResult:
    """Samples of an EBM prior p_a(z) ∝ exp(f_a(z)) N(z; 0, I): chains from z0 (B, latent_dim) (persistent chains:
    pass the previous result's z) or n fresh chains from N(0, I); exactly one of n and z0. The defaults are the
    official code's (60 steps of size 0.4). See langevin for the rest."""
    if (n is None) == (z0 is None):
        raise ValueError(f"give exactly one of n (the number of fresh chains) and z0 (their starts), got n={n!r} "
                         f"and z0={'None' if z0 is None else 'a tensor'}")
    if z0 is None:
        check_int("n", n, 1)
        z0 = _randn((n, prior.latent_dim), _float_like(prior), generator)
    elif not torch.is_tensor(z0) or z0.dim() != 2 or z0.shape[1] != prior.latent_dim:
        raise ValueError(f"z0 must have shape (B, {prior.latent_dim}) (the prior's latent_dim), got "
                         f"{tuple(z0.shape) if torch.is_tensor(z0) else type(z0).__name__}")
    return langevin(prior.log_prob_unnormalised, z0, steps=steps, step_size=step_size, temperature=temperature,
                    mala=mala, generator=generator, trace=trace)


def gaussian_langevin_law(mean: torch.Tensor, cov: torch.Tensor, *, steps: int, step_size=0.1,
                          temperature: float = 1.0, z0_mean=None, z0_cov=None):
    """The exact law N(m_K, C_K) of the unadjusted chain after `steps` steps on a Gaussian target N(mean, cov).

    The chain is linear there: with P = cov⁻¹ and A_i = I − ½ s_i² P,
        z_{i+1} = A_i z_i + ½ s_i² P mean + T s_i ε  =>  m_{i+1} = A_i m_i + ½ s_i² P mean,
                                                         C_{i+1} = A_i C_i A_iᵀ + T² s_i² I,
    from z_0 ~ N(z0_mean, z0_cov) (default N(0, I): SRI's start). For a pPCA model the posterior is Gaussian, so
    this measures the short-run bias of SRI without sampling error. At a constant step s the fixed point is
    C = T² Σ_k λ_k/(1 − s²/(4λ_k)) v_k v_kᵀ over cov's eigenpairs (λ_k, v_k) (stable for s² < 4 min λ).
    mean (..., d) (several targets sharing cov broadcast), cov (d, d). Returns (m_K (..., d), C_K (d, d)), float64."""
    sizes = _schedule(step_size, steps)
    T = check_float("temperature", temperature, 0.0)
    mean, cov = torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(cov, dtype=torch.float64)
    d = mean.shape[-1]
    if cov.shape != (d, d):
        raise ValueError(f"cov must be ({d}, {d}) for mean of shape {tuple(mean.shape)}, got {tuple(cov.shape)}")
    eye = torch.eye(d, dtype=torch.float64)
    m = torch.zeros_like(mean) if z0_mean is None else torch.as_tensor(z0_mean, dtype=torch.float64).expand_as(mean)
    C = eye.clone() if z0_cov is None else torch.as_tensor(z0_cov, dtype=torch.float64)
    P = torch.linalg.inv(cov)
    for s in sizes:
        A = eye - 0.5 * s * s * P
        m = m @ A.T + 0.5 * s * s * (mean @ P.T)
        C = A @ C @ A.T + (T * s) ** 2 * eye
    return m, C
