"""Semi-amortized refinement (Kim, Wiseman, Miller, Sontag & Rush 2018): K differentiable SVI steps.

Let f(λ, θ) = -ELBO(x; λ, θ) for one example, λ = (μ, log σ²), with the reparameterization noise ε_k of
step k drawn once and reused in the backward pass. From λ_0 (the encoder's output, or the prior):

    v_0 = 0;  v_{k+1} = m·v_k - clip_c(∇_λ f(λ_k, θ; ε_k));  λ_{k+1} = λ_k + η·v_{k+1}

clip_c(g) = g·min(1, c/‖g‖), with ‖g‖ the norm of one example's 2d-vector (∇_μ f, ∇_logσ² f).

Each example takes its own step: the refined loss is the *sum* of per-example losses, so the update of
example i is the gradient of its own ELBO and does not depend on the batch size. The original code
(harvardnlp/sa-vae) differentiates the batch *mean*, so its effective per-example step size is η/B.

Backward pass through the K steps, two backends:
- 'exact': autograd through the unrolled loop (create_graph=True); memory grows with K.
- 'fd': the reverse loop of Algorithm 1 with finite-difference Hessian-vector products, wrapped in a
  torch.autograd.Function so that it plugs into the normal loss.backward(). Only λ_k, ε_k and ∇f(λ_k)
  are stored; each reverse step costs two gradient evaluations. The perturbation r·w must be *small*,
  so r = τ·(1 + ‖λ‖)/‖w‖ per example (τ = machine-ε^(1/3), the central-difference optimum).
  The clip is differentiated exactly (J_clip = (c/‖g‖)(I - ĝĝᵀ) when active), as autograd would.
cuDNN: its RNN kernels support neither double backward nor backward in eval mode; on CUDA the refinement
turns cuDNN off where it needs either (exact backend, or an eval-mode model).
Random layers in the decoder (word dropout in training mode) are redrawn at every call: the fd backward
then differentiates a different function than the forward used; use word_dropout=0 with hvp='fd'.
"""
from __future__ import annotations

import contextlib

import torch

from ..checks import check_choice, check_float, check_int
from ..models.distributions import DiagGaussian

HVP_BACKENDS = ("exact", "fd")


def check_refine_args(steps, lr, momentum, clip, hvp) -> None:
    """svi_steps K >= 0, svi_lr η > 0, svi_momentum m in [0, 1), svi_clip c > 0 or None, hvp 'exact' | 'fd'."""
    check_int("svi_steps", steps, 0)
    check_float("svi_lr", lr, 0.0, strict=True)
    check_float("svi_momentum", momentum, 0.0, maximum=1.0)
    if momentum >= 1.0:
        raise ValueError(f"svi_momentum must be in [0, 1), got {momentum!r}")
    if clip is not None:
        check_float("svi_clip", clip, 0.0, strict=True)
    check_choice("hvp", hvp, HVP_BACKENDS)


def neg_elbo_parts(model, x, mu, logvar, eps):
    """rec (B,) = -log p(x | z = μ + σ·ε) and kl (B,) = KL(N(μ, σ²) ‖ N(0, I)), nats per example.
    eps (B, d) standard normals; the same operations as vaelab.objectives.elbo_loss (so K = 0 is the VAE)."""
    q = DiagGaussian(mu, logvar)
    z = q.mu + q.std * eps
    return -model.decode(z).log_prob(x), q.kl_standard_per_dim().sum(-1)


def cudnn_off_needed(model, on_cuda: bool, double_backward: bool) -> bool:
    """cuDNN's RNN kernels support neither double backward nor backward in eval mode: turn cuDNN off for a
    model with a recurrent layer on CUDA in those two cases, and only then (convolutions keep cuDNN)."""
    has_rnn = any(isinstance(m, torch.nn.RNNBase) for m in model.modules())
    return on_cuda and has_rnn and (double_backward or not model.training)


def _cudnn_guard(x, model, double_backward: bool):
    if cudnn_off_needed(model, x.is_cuda, double_backward):
        return torch.backends.cudnn.flags(enabled=False)
    return contextlib.nullcontext()


def _norm(gm, gl):
    """Per-example norm of the 2d-vector (gm, gl), kept differentiable at 0."""
    return ((gm ** 2).sum(-1) + (gl ** 2).sum(-1)).clamp_min(1e-30).sqrt()


def clip_per_example(gm, gl, clip):
    """g·min(1, c/‖g‖) per example (no-op when clip is None)."""
    if clip is None:
        return gm, gl
    n = _norm(gm, gl)
    s = torch.where(n > clip, clip / n, torch.ones_like(n))[:, None]
    return gm * s, gl * s


def _clip_vjp(gm, gl, wm, wl, clip):
    """J_clip(g)ᵀ w: (c/‖g‖)(w - ĝ(ĝ·w)) where the clip is active, w elsewhere (J_clip is symmetric)."""
    if clip is None:
        return wm, wl
    n = _norm(gm, gl)
    hm, hl = gm / n[:, None], gl / n[:, None]
    dot = ((hm * wm).sum(-1) + (hl * wl).sum(-1))[:, None]
    on = (n > clip)[:, None]
    s = (clip / n)[:, None]
    return torch.where(on, s * (wm - hm * dot), wm), torch.where(on, s * (wl - hl * dot), wl)


def _grad(f, mu, logvar, eps, create_graph: bool):
    """∇_λ Σ_i f_i(λ_i): per example, since the examples do not interact."""
    with torch.enable_grad():
        if not create_graph:
            mu, logvar = mu.detach().requires_grad_(True), logvar.detach().requires_grad_(True)
        return torch.autograd.grad(f(mu, logvar, eps).sum(), (mu, logvar), create_graph=create_graph)


def _unroll(f, mu, logvar, noise, lr, momentum, clip, create_graph, keep=None):
    """The forward loop; returns λ_K. keep: a list receiving (λ_k, raw ∇f(λ_k)) for every step."""
    vm, vl = torch.zeros_like(mu), torch.zeros_like(logvar)
    for k in range(noise.shape[0]):
        gm, gl = _grad(f, mu, logvar, noise[k], create_graph)
        if keep is not None:
            keep.append((mu.detach(), logvar.detach(), gm.detach(), gl.detach()))
        cm, cl = clip_per_example(gm, gl, clip)
        vm, vl = momentum * vm - cm, momentum * vl - cl
        mu, logvar = mu + lr * vm, logvar + lr * vl
        if not create_graph:
            mu, logvar, vm, vl = mu.detach(), logvar.detach(), vm.detach(), vl.detach()
    return mu, logvar


def fd_hvp(f, mu, logvar, eps, wm, wl, params):
    """Central-difference Hessian-vector products of F = Σ_i f_i at (λ, θ) along w (B, d each):
    returns (H_λλ w for μ, for log σ², [H_θλ w for each θ in params]); r = τ(1 + ‖λ_i‖)/‖w_i‖ per example."""
    tau = torch.finfo(mu.dtype).eps ** (1 / 3)
    n = _norm(wm, wl)
    r = torch.where(n > 1e-30, tau * (1 + _norm(mu, logvar)) / n, torch.ones_like(n))
    rr = r[:, None]
    with torch.enable_grad():
        leaves = [t.detach().requires_grad_(True) for t in (mu + rr * wm, logvar + rr * wl,
                                                             mu - rr * wm, logvar - rr * wl)]
        diff = (f(leaves[0], leaves[1], eps) - f(leaves[2], leaves[3], eps)) / (2 * r)
        g = torch.autograd.grad(diff.sum(), leaves + list(params), allow_unused=True)
    return g[0] + g[2], g[1] + g[3], list(g[4:])


class _FDRefine(torch.autograd.Function):
    """λ_K = refine(λ_0; θ) with the reverse loop of Kim et al. Algorithm 1 as its backward."""

    @staticmethod
    def forward(ctx, f, model, noise, lr, momentum, clip, mu0, logvar0, *params):
        keep = []
        with _cudnn_guard(mu0, model, False):
            mu, logvar = _unroll(f, mu0, logvar0, noise, lr, momentum, clip, False, keep)
        ctx.f, ctx.model, ctx.keep, ctx.noise = f, model, keep, noise
        ctx.hyper, ctx.params = (lr, momentum, clip), params
        return mu.detach(), logvar.detach()

    @staticmethod
    def backward(ctx, bar_mu, bar_lv):
        lr, momentum, clip = ctx.hyper
        lam_m = torch.zeros_like(ctx.keep[0][0]) if bar_mu is None else bar_mu.clone()
        lam_l = torch.zeros_like(ctx.keep[0][1]) if bar_lv is None else bar_lv.clone()
        vbar_m, vbar_l = torch.zeros_like(lam_m), torch.zeros_like(lam_l)
        theta = [None] * len(ctx.params)
        with _cudnn_guard(lam_m, ctx.model, False):
            for k in reversed(range(len(ctx.keep))):
                mu, logvar, gm, gl = ctx.keep[k]
                vbar_m, vbar_l = vbar_m + lr * lam_m, vbar_l + lr * lam_l
                wm, wl = _clip_vjp(gm, gl, vbar_m, vbar_l, clip)
                hm, hl, ht = fd_hvp(ctx.f, mu, logvar, ctx.noise[k], wm, wl, ctx.params)
                lam_m, lam_l = lam_m - hm, lam_l - hl
                theta = [t if h is None else (-h if t is None else t - h) for t, h in zip(theta, ht)]
                vbar_m, vbar_l = momentum * vbar_m, momentum * vbar_l
        return (None,) * 6 + (lam_m, lam_l, *theta)


def refine_lambda(model, x, mu0, logvar0, *, steps: int, lr: float, momentum: float = 0.0,
                  clip: float | None = None, hvp: str = "exact", kl_weight: float = 1.0, noise=None,
                  differentiable: bool = True, record_path: bool = False):
    """λ_K from λ_0 = (mu0, logvar0) (B, d each) by K steps of per-example SVI with momentum and clipping.

    noise: (K, B, d) standard normals, one draw per step (default: torch.randn). kl_weight: the weight of
    the KL in f (KL warm-up). differentiable: False detaches λ_0 and returns λ_K with no graph (VAE+SVI,
    test-time refinement); True lets gradients reach λ_0 and θ through the steps with backend `hvp`.
    Returns (mu_K, logvar_K), plus a path {'mu', 'logvar': (K+1, B, d)} when record_path (which implies
    differentiable=False).
    """
    check_refine_args(steps, lr, momentum, clip, hvp)
    check_float("kl_weight", kl_weight, 0.0)
    if mu0.shape != logvar0.shape or mu0.dim() != 2:
        raise ValueError(f"mu0 and logvar0 must both be (B, d), got {tuple(mu0.shape)} and {tuple(logvar0.shape)}")
    if noise is None:
        noise = torch.randn(steps, *mu0.shape, device=mu0.device, dtype=mu0.dtype)
    if tuple(noise.shape) != (steps, *mu0.shape):
        raise ValueError(f"noise must have shape {(steps, *mu0.shape)} (svi_steps, B, d), got {tuple(noise.shape)}")

    def f(mu, logvar, eps):
        rec, kl = neg_elbo_parts(model, x, mu, logvar, eps)
        return rec + kl_weight * kl

    keep = [] if record_path else None
    if record_path or not differentiable:
        with _cudnn_guard(x, model, False):
            mu, lv = _unroll(f, mu0.detach(), logvar0.detach(), noise, lr, momentum, clip, False, keep)
        if not record_path:
            return mu, lv
        path = {"mu": torch.stack([k[0] for k in keep] + [mu]), "logvar": torch.stack([k[1] for k in keep] + [lv])}
        return mu, lv, path
    if steps == 0:
        return mu0, logvar0
    if hvp == "exact":
        if not (mu0.requires_grad or logvar0.requires_grad):      # e.g. λ_0 = prior: still differentiate in θ
            mu0, logvar0 = mu0.detach().requires_grad_(True), logvar0.detach().requires_grad_(True)
        with _cudnn_guard(x, model, True):
            return _unroll(f, mu0, logvar0, noise, lr, momentum, clip, True)
    params = [p for p in model.parameters() if p.requires_grad]
    return _FDRefine.apply(f, model, noise, lr, momentum, clip, mu0, logvar0, *params)
