"""The latent EBM prior's learning signal (Pang, Han, Nijkamp, Zhu & Wu, NeurIPS 2020, eq. 9).

The prior p_a(z) = exp(f_a(z)) N(z; 0, I) / Z_a has the log-likelihood gradient
    ∇_a log p_a(z) = ∇_a f_a(z) − E_{p_a}[∇_a f_a],
so over posterior samples it is E_post[∇_a f_a] − E_prior[∇_a f_a]. Gradient *descent* on
    loss = mean f_a(z_prior) − mean f_a(z_post)
therefore takes that ascent step. It is the official code's loss_e = en_pos − en_neg (bpucla/latent-space-EBM-prior),
whose energy en = −f_a. Pure: a function of the prior and two batches of samples, no sampling here.
"""
from __future__ import annotations

import torch


def ebm_prior_loss(prior, z_post: torch.Tensor, z_prior: torch.Tensor):
    """(loss, stats) for the EBM prior's parameters a.

    prior: an EBMPrior (anything with f(z) -> (B,)). z_post (B, d): posterior samples (Langevin on
    log p_a(z) + log p(x|z)); z_prior (M, d): prior samples (Langevin on log p_a). Both are detached here, so the
    loss moves only a. loss (scalar, nats) = f_a(z_prior).mean() − f_a(z_post).mean(); stats (detached):
    ebm_loss (= loss), f_post, f_prior (the two means). In training f_post − f_prior > 0 means the prior's
    samples have not yet caught up with the posterior's."""
    for name, z in (("z_post", z_post), ("z_prior", z_prior)):
        if not torch.is_tensor(z) or z.dim() != 2 or z.shape[0] < 1:
            shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise ValueError(f"{name} must be a (B, d) tensor of latent samples with B >= 1, got {shape}")
    if z_post.shape[1] != z_prior.shape[1]:
        raise ValueError(f"z_post and z_prior must have one latent size, got z_post {tuple(z_post.shape)} and "
                         f"z_prior {tuple(z_prior.shape)}")
    f_post = prior.f(z_post.detach()).mean()
    f_prior = prior.f(z_prior.detach()).mean()
    loss = f_prior - f_post
    return loss, {"ebm_loss": loss.detach(), "f_post": f_post.detach(), "f_prior": f_prior.detach()}
