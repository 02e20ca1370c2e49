"""How much the latent is used: KL per dimension, mutual information, active units, a linear probe."""
from __future__ import annotations

import math

import torch

from ..checks import check_finite, check_float, check_int
from ..models.distributions import LOG_2PI
from .likelihood import mean_se


@torch.inference_mode()
def encode_all(model, x: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder means and log-variances for every row of x: (N, d) each."""
    check_finite("x", x)
    check_int("batch_size", batch_size, 1)
    mus, logvars = [], []
    for start in range(0, x.shape[0], batch_size):
        q = model.encode(x[start:start + batch_size])
        mus.append(q.mu)
        logvars.append(q.logvar)
    return torch.cat(mus), torch.cat(logvars)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Analytic KL(q(z_j|x) || N(0,1)) averaged over examples: (d,) nats."""
    return (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).mean(0)


@torch.inference_mode()
def mutual_information_stats(mu: torch.Tensor, logvar: torch.Tensor, batch_size: int = 1000,
                             generator: torch.Generator | None = None) -> dict:
    """I_q(x; z) by He et al. (2019)'s minibatch estimator, averaged over batches of `batch_size` (nats).

    I = E_x[E_q(z|x) log q(z|x)] - E_q(z) log q(z), with log q(z_i) ~ logsumexp_j log q(z_i|x_j) - log B.
    Returns {mi, mi_se, mi_ceiling}:
    - mi_ceiling: log B (B = the examples in the aggregate sample; averaged over batches when the last one
      is smaller). Each term is at most log B + (|eps_i|^2 - d)/2, whose noise has mean 0: the estimate cannot
      exceed log B beyond its Monte-Carlo error. A value near the ceiling measures the sample size, not the
      code: use more examples before comparing such values.
    - mi_se: the standard error over examples of the per-example terms (approximate: the terms of one batch
      share the aggregate sample).
    The estimate is biased for small B, can exceed the KL (it is not a bound) and can go slightly negative.
    z is drawn from `generator` (on mu's device), or from torch's global generator when None.
    """
    check_int("batch_size", batch_size, 2)
    check_finite("mu", mu)
    check_finite("logvar", logvar)
    n, d = mu.shape
    terms, ceiling = [], 0.0
    for start in range(0, n, batch_size):
        m, lv = mu[start:start + batch_size], logvar[start:start + batch_size]
        b = m.shape[0]
        neg_entropy = -0.5 * d * (1 + LOG_2PI) - 0.5 * lv.sum(-1)
        z = m + torch.exp(0.5 * lv) * torch.randn(m.shape, generator=generator, device=m.device, dtype=m.dtype)
        # log q(z_i | x_j) for all pairs: (b, b)
        diff = z[:, None, :] - m[None, :, :]
        log_q_ij = -0.5 * (LOG_2PI + lv[None] + diff ** 2 / lv.exp()[None]).sum(-1)
        log_qz = torch.logsumexp(log_q_ij, 1) - math.log(b)
        terms.append(neg_entropy - log_qz)
        ceiling += math.log(b) * b
    t = torch.cat(terms)
    mi, se = mean_se(t) if n > 1 else (float(t.mean()), float("nan"))
    return {"mi": mi, "mi_se": se, "mi_ceiling": ceiling / n}


def mutual_information(mu: torch.Tensor, logvar: torch.Tensor, batch_size: int = 1000,
                       generator: torch.Generator | None = None) -> float:
    """The value of mutual_information_stats (nats): I_q(x; z), at most log(batch size)."""
    return mutual_information_stats(mu, logvar, batch_size, generator)["mi"]


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al. (2016): unit u is active when Var_x(E_q[z_u]) > threshold. Returns (count, variances (d,))."""
    check_float("threshold", threshold, 0.0)
    check_finite("mu", mu)
    if mu.shape[0] < 2:
        raise ValueError(f"active_units needs at least 2 examples to estimate a variance, got mu of shape {tuple(mu.shape)}")
    var = mu.var(0, unbiased=True)
    return int((var > threshold).sum()), var


def linear_probe(z_train, y_train, z_test, y_test, seed: int = 0) -> float:
    """Test accuracy of a logistic regression fitted on latent codes: how linearly readable the labels are."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    to_np = lambda t: t.detach().cpu().numpy() if torch.is_tensor(t) else t  # noqa: E731
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(to_np(z_train), to_np(y_train))
    return float(clf.score(to_np(z_test), to_np(y_test)))


def probe_stats(z: torch.Tensor, y: torch.Tensor, seed: int = 0) -> dict:
    """A linear probe reading y from the codes z (N, d), fitted on the first half and scored on the second:
    probe_acc, its binomial standard error probe_acc_se over the scored examples, and probe_chance (the majority
    class's share of them)."""
    half = len(y) // 2
    acc = linear_probe(z[:half], y[:half], z[half:], y[half:], seed=seed)
    n = max(len(y) - half, 1)
    return {"probe_acc": acc, "probe_acc_se": math.sqrt(max(acc * (1 - acc), 0.0) / n),
            "probe_chance": float(torch.bincount(torch.as_tensor(y[half:]).long()).max()) / n}
