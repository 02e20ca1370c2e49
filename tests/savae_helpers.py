"""The small float64 MLP VAE, data and hand-written -ELBO shared by the SA-VAE tests."""
import torch

from vaelab.models import build_model


def mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return build_model("mlp", (6,), 2, [8]).to(dtype)


def data(b=5, seed=1, dtype=torch.float64):
    return torch.bernoulli(torch.full((b, 6), 0.5), generator=torch.Generator().manual_seed(seed)).to(dtype)


def f_by_hand(model, x, mu, lv, eps):
    """-ELBO per example written out: Bernoulli likelihood of the MLP decoder + analytic Gaussian KL."""
    z = mu + torch.exp(0.5 * lv) * eps
    logits = model.decoder(z)
    rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    return rec + 0.5 * (mu ** 2 + torch.exp(lv) - 1 - lv).sum(-1)


def flat_grad(loss, model):
    gs = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for g, p in zip(gs, model.parameters())])
