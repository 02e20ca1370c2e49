"""Maps of a latent space: 2-D projections of encoder means (identity, PCA, t-SNE), Gaussians carried onto
a linear map, nearest neighbours, and the latent dimensions ranked by how much they are used.

Codes are float tensors (N, d); a projection is a dict with `mean` (d,) and `components` (2, d) (orthonormal
rows) so that map point p = (z - mean) @ components.T and, back, z = mean + p @ components (a code in the
plane the map shows). t-SNE has no such map: it returns points only.
"""
from __future__ import annotations

import torch

from ..checks import check_choice, check_finite, check_int
from .latent import kl_per_dim

MAP_METHODS = ("auto", "identity", "pca", "tsne")


def _codes(z, name: str = "z") -> torch.Tensor:
    z = torch.as_tensor(z)
    if z.dim() != 2 or z.shape[0] < 1:
        raise ValueError(f"{name} must be a tensor of codes with shape (N, d), got {tuple(z.shape)}")
    return check_finite(name, z.detach().to("cpu", torch.float64))


def pca_fit(z) -> dict:
    """The top-2 principal axes of codes z (N, d), d >= 2, N >= 2: mean (d,), components (2, d) with
    orthonormal rows (sign fixed: each row's largest entry in absolute value is positive), variance (2,)
    along each axis and explained (2,), its share of the total variance."""
    z = _codes(z)
    n, d = z.shape
    if n < 2 or d < 2:
        raise ValueError(f"PCA needs at least 2 codes of at least 2 dimensions, got z of shape {tuple(z.shape)}")
    mean = z.mean(0)
    _, s, vt = torch.linalg.svd(z - mean, full_matrices=False)
    comps = vt[:2]
    sign = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))
    comps = comps * torch.where(sign == 0, torch.ones_like(sign), sign)
    var = s ** 2 / (n - 1)
    total = var.sum().clamp(min=1e-30)
    return {"mean": mean.float(), "components": comps.float(), "variance": var[:2].float(),
            "explained": (var[:2] / total).float()}


def identity_projection(d: int = 2) -> dict:
    """The 'projection' of a 2-D latent onto itself."""
    if d != 2:
        raise ValueError(f"the identity map needs a 2-D latent, got latent_dim={d}; use method='pca' or 'tsne'")
    return {"mean": torch.zeros(2), "components": torch.eye(2), "variance": None, "explained": torch.ones(2) / 2}


def project(z, projection: dict) -> torch.Tensor:
    """Map points of codes z (N, d) or (d,): (N, 2)."""
    z = torch.as_tensor(z, dtype=torch.float32).cpu()
    z = z[None] if z.dim() == 1 else z
    return (z - projection["mean"]) @ projection["components"].T


def unproject(points, projection: dict) -> torch.Tensor:
    """The codes in the mapped plane at map points (N, 2) or (2,): (N, d). project(unproject(p)) == p."""
    p = torch.as_tensor(points, dtype=torch.float32).cpu()
    p = p[None] if p.dim() == 1 else p
    if p.shape[-1] != 2:
        raise ValueError(f"points must have shape (N, 2) or (2,), got {tuple(p.shape)}")
    return projection["mean"] + p @ projection["components"]


def project_gaussian(mu, logvar, projection: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """A diagonal Gaussian N(mu, diag exp(logvar)) (each (N, d) or (d,), the encoder's outputs) seen on a linear
    map: the law of C (z - m) is N(C (mu - m), C diag(var) C^T). Returns means (N, 2) and covariances (N, 2, 2)."""
    var = torch.as_tensor(logvar, dtype=torch.float32).cpu().exp()
    var = var[None] if var.dim() == 1 else var
    c = projection["components"]
    return project(mu, projection), torch.einsum("id,nd,jd->nij", c, var, c)


def latent_map(mu, method: str = "auto", seed: int = 0, perplexity: float = 30.0) -> dict:
    """A 2-D picture of codes mu (N, d). method: 'identity' (d = 2), 'pca', 'tsne' (scikit-learn, seeded),
    or 'auto' (identity for d = 2, PCA otherwise). Returns points (N, 2), method (the one used), axes
    (two axis titles) and projection (a dict for project/unproject; None for t-SNE, which is not linear)."""
    check_choice("method", method, MAP_METHODS)
    mu = _codes(mu, "mu").float()
    d = mu.shape[1]
    if method == "auto":
        method = "identity" if d == 2 else "pca"
    if method == "identity":
        proj = identity_projection(d)
        return {"points": mu.clone(), "method": method, "axes": ("$z_1$", "$z_2$"), "projection": proj}
    if method == "pca":
        proj = pca_fit(mu)
        ex = [float(v) for v in proj["explained"]]
        return {"points": project(mu, proj), "method": method, "projection": proj,
                "axes": (f"PC 1 ({100 * ex[0]:.0f}% of variance)", f"PC 2 ({100 * ex[1]:.0f}%)")}
    from sklearn.manifold import TSNE

    n = mu.shape[0]
    if n < 5:
        raise ValueError(f"t-SNE needs at least 5 codes, got {n}")
    perp = min(float(perplexity), (n - 1) / 3)
    pts = TSNE(2, perplexity=perp, init="pca", random_state=seed).fit_transform(mu.numpy())
    return {"points": torch.as_tensor(pts, dtype=torch.float32), "method": method,
            "axes": ("t-SNE 1", "t-SNE 2"), "projection": None}


def nearest_neighbours(z, query, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """The k codes of z (N, d) closest to `query` in Euclidean distance, nearest first: (indices (k,),
    distances (k,)). query: an index into z (that example itself is left out) or a code (d,)."""
    z = _codes(z)
    check_int("k", k, 1)
    exclude = None
    if isinstance(query, int) and not isinstance(query, bool):
        if not 0 <= query < z.shape[0]:
            raise ValueError(f"query={query} is not an index of z; use 0 .. {z.shape[0] - 1}")
        exclude, q = query, z[query]
    else:
        q = torch.as_tensor(query, dtype=torch.float64).cpu().flatten()
        if q.shape[0] != z.shape[1]:
            raise ValueError(f"query must be an index or a code of {z.shape[1]} entries, got shape {tuple(q.shape)}")
    dist = (z - q).norm(dim=1)
    if exclude is not None:
        dist[exclude] = float("inf")
    available = z.shape[0] - (exclude is not None)
    if k > available:
        raise ValueError(f"k={k} neighbours asked for, but only {available} other codes exist")
    d, idx = torch.topk(dist, k, largest=False)
    return idx, d.float()


def rank_dims(mu, logvar) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent dimensions from most to least used, by KL(q(z_j|x) || N(0, 1)) averaged over the examples:
    (order (d,) long, kl (d,) nats, in the original dimension order)."""
    kl = kl_per_dim(torch.as_tensor(mu), torch.as_tensor(logvar)).detach().cpu()
    return torch.argsort(kl, descending=True, stable=True), kl


@torch.inference_mode()
def conditional_log_probs(model, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log p(x_n | z_k) for every code z (K, d) and example x (N, *data_shape): (K, N) nats.

    How much a decoder listens to z: a decoder that ignores it (posterior collapse) gives each x the same
    log-probability under every code, so the spread over k (e.g. .std(0)) is about 0."""
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.dim() != 2 or z.shape[1] != model.latent_dim:
        raise ValueError(f"z must have shape (K, {model.latent_dim}), got {tuple(z.shape)}")
    check_finite("x", x)
    check_finite("z", z)
    model.eval()
    x, z = x.to(model.device), z.to(model.device)
    return model.decode(z[:, None, :].expand(z.shape[0], x.shape[0], z.shape[1])).log_prob(x)
