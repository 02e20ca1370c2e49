"""Ground-truth models shared by the tests, and a way to run the command line."""
import base64
import math
import os
import subprocess
import sys

import torch

from vaelab.models import build_model


def ppca_vae(d=2, D=5, s2=0.3, exact_encoder=True, seed=0):
    """Probabilistic PCA as a VAE: p(z)=N(0,I), p(x|z)=N(Wz+b, s2 I), W with orthogonal columns.

    With orthogonal columns M = W^T W + s2 I is diagonal, so the true posterior is a diagonal Gaussian
    and the encoder can be set to it exactly. Returns (model, W, b, s2).
    """
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(D, d, generator=g))
    W = Q * torch.tensor([2.0, 0.7, 1.3, 0.5][:d])
    b = torch.randn(D, generator=g)
    model = build_model("mlp", (D,), d, hidden=(), likelihood="gaussian")
    with torch.no_grad():
        dec = model.decoder.net[0]
        dec.weight.copy_(W)
        dec.bias.copy_(b)
        model.obs_logvar.fill_(math.log(s2))
        enc = model.encoder.net[0]
        if exact_encoder:
            M = W.T @ W + s2 * torch.eye(d)
            A = torch.linalg.solve(M, W.T)                    # posterior mean = A (x - b)
            enc.weight.copy_(torch.cat([A, torch.zeros(d, D)]))
            enc.bias.copy_(torch.cat([-A @ b, torch.log(s2 / torch.diagonal(M))]))
    return model.eval(), W, b, s2


def ppca_log_px(x, W, b, s2):
    """Exact log p(x) = log N(x; b, W W^T + s2 I): (N,)."""
    cov = W @ W.T + s2 * torch.eye(W.shape[0])
    return torch.distributions.MultivariateNormal(b, cov).log_prob(x)


def ppca_vae_correlated(d=2, D=5, s2=0.3, seed=1):
    """Probabilistic PCA as a VAE with a NON-orthogonal W: M = W^T W + s2 I is not diagonal, so the true
    posterior N(M^-1 W^T (x - b), s2 M^-1) is correlated and no diagonal Gaussian equals it.
    The encoder is left random. Returns (model, W, b, s2)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, d, generator=g)
    W[:, 1] = 0.8 * W[:, 0] + 0.4 * W[:, 1]          # strongly correlated columns
    b = torch.randn(D, generator=g)
    model = build_model("mlp", (D,), d, hidden=(), likelihood="gaussian")
    with torch.no_grad():
        model.decoder.net[0].weight.copy_(W)
        model.decoder.net[0].bias.copy_(b)
        model.obs_logvar.fill_(math.log(s2))
    return model.eval(), W, b, s2


def ppca_posterior(x, W, b, s2):
    """The exact posterior of the PPCA model: mean (N, d) and covariance (d, d)."""
    M = W.T @ W + s2 * torch.eye(W.shape[1])
    return torch.linalg.solve(M, W.T @ (x - b).T).T, s2 * torch.linalg.inv(M)


# -- widgets: what an explorer shows in its one Output ----------------------------------------------------------
def shown(w):
    (out,) = w.output.outputs
    return out


def png(w) -> bytes:
    out = shown(w)
    assert out["output_type"] == "display_data", out
    return base64.b64decode(out["data"]["image/png"])


def vaelab_cli(*args):
    """`python -m vaelab ARGS` in a subprocess (one torch thread, no progress bars): a CompletedProcess."""
    env = {**os.environ, "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "vaelab", *args], capture_output=True, text=True, env=env)


def count_host_reads(monkeypatch) -> dict:
    """Count every read of a tensor's value by the host (bool, float, int, item, tolist, numpy): the returned
    dict's "n" (reset it to 0 before the code under test). On a GPU each such read waits for the device."""
    reads = {"n": 0}
    for name in ("__bool__", "__float__", "__int__", "item", "tolist", "numpy"):
        def counted(self, *a, _original=getattr(torch.Tensor, name), **k):
            reads["n"] += 1
            return _original(self, *a, **k)
        monkeypatch.setattr(torch.Tensor, name, counted)
    return reads


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, so connecting is refused at once (download tests' 'no internet')."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
