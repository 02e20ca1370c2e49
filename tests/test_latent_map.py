"""The maths of the latent-space explorer (vaelab.metrics.latent_map and the traversal/decoding helpers of
latent_paths), against ground truth: planted principal axes, brute-force neighbours, closed-form KLs."""
import numpy as np
import pytest
import torch

from vaelab.data import synthetic_text, vocabulary_of
from vaelab.metrics import (decode_items, decode_mean, latent_map, nearest_neighbours, pca_fit, project,
                            project_gaussian, rank_dims, traversal_codes, unproject)
from vaelab.models import build_model


def planted(n=400, d=6, seed=0):
    """Codes on a known plane: mean + 3 a u + 1 b v + tiny noise, with u, v orthonormal in R^d."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    u, v = q[:, 0], q[:, 1]
    a, b = torch.randn(n, 1, generator=g), torch.randn(n, 1, generator=g)
    mean = torch.arange(d, dtype=torch.float32)
    z = mean + 3 * a * u + b * v + 1e-3 * torch.randn(n, d, generator=g)
    return z, u, v


def test_pca_recovers_planted_axes_and_matches_the_covariance_eigendecomposition():
    z, u, v = planted()
    p = pca_fit(z)
    c = p["components"]
    assert abs(float(c[0] @ u)) > 0.999 and abs(float(c[1] @ v)) > 0.999       # the planted directions
    torch.testing.assert_close(c @ c.T, torch.eye(2), atol=1e-5, rtol=0)       # orthonormal rows
    cov = np.cov(z.numpy().astype(np.float64), rowvar=False)
    evals = np.sort(np.linalg.eigvalsh(cov))[::-1]
    np.testing.assert_allclose(p["variance"].numpy(), evals[:2], rtol=1e-4)
    np.testing.assert_allclose(p["explained"].numpy(), evals[:2] / evals.sum(), rtol=1e-4)
    for row in c:                                                              # the sign convention
        assert row[row.abs().argmax()] > 0


def test_project_and_unproject_are_inverse_on_the_plane_and_project_gaussian_is_c_sigma_ct():
    z, _, _ = planted(d=5)
    p = pca_fit(z)
    pts = project(z, p)
    torch.testing.assert_close(unproject(pts, p), z, atol=5e-3, rtol=0)        # z lies (almost) in the plane
    torch.testing.assert_close(project(unproject(pts[:7], p), p), pts[:7], atol=1e-4, rtol=0)
    # a diagonal Gaussian's image: Monte Carlo against the closed form
    g = torch.Generator().manual_seed(1)
    mu, var = torch.randn(5, generator=g), torch.rand(5, generator=g) + 0.2
    m2, cov2 = project_gaussian(mu, var.log(), p)
    draws = project(mu + var.sqrt() * torch.randn(200_000, 5, generator=g), p)
    torch.testing.assert_close(draws.mean(0), m2[0], atol=0.02, rtol=0)
    torch.testing.assert_close(torch.cov(draws.T), cov2[0], atol=0.02, rtol=0)


def test_latent_map_methods():
    z2 = torch.randn(50, 2)
    m = latent_map(z2)
    assert m["method"] == "identity" and torch.equal(m["points"], z2)
    torch.testing.assert_close(unproject(m["points"], m["projection"]), z2)
    z, _, _ = planted(n=120, d=8)
    assert latent_map(z)["method"] == "pca"
    # t-SNE keeps two far-apart clusters apart: each point's nearest map neighbour is in its own cluster
    g = torch.Generator().manual_seed(0)
    blobs = torch.cat([torch.randn(40, 8, generator=g), torch.randn(40, 8, generator=g) + 10])
    t = latent_map(blobs, "tsne", seed=0)
    assert t["projection"] is None and t["points"].shape == (80, 2)
    owner = torch.arange(80) >= 40
    nn_idx = [int(nearest_neighbours(t["points"], i, 1)[0][0]) for i in range(80)]
    assert all(owner[j] == owner[i] for i, j in enumerate(nn_idx))
    with pytest.raises(ValueError, match="method='cubic' is not one of"):
        latent_map(z2, "cubic")
    with pytest.raises(ValueError, match="latent_dim=3"):
        latent_map(torch.randn(10, 3), "identity")


def test_nearest_neighbours_match_brute_force():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(60, 4, generator=g)
    idx, dist = nearest_neighbours(z, 7, k=5)
    ranked = sorted((float(((z[i] - z[7]) ** 2).sum()) ** 0.5, i) for i in range(60) if i != 7)
    brute = ranked[:5]
    # the order (and who is 5th) is decided by gaps far above float32 rounding, which another CPU may change:
    # consecutive distances up to the 6th differ by > 1e-4 relative (measured: 1.3e-2)
    d6 = [d for d, _ in ranked[:6]]
    assert min(b - a for a, b in zip(d6, d6[1:])) > 1e-4 * d6[-1]
    assert idx.tolist() == [i for _, i in brute]
    np.testing.assert_allclose(dist.numpy(), [d for d, _ in brute], rtol=1e-5)
    code = torch.tensor([0.5, 0.0, -1.0, 2.0])
    idx, _ = nearest_neighbours(z, code, k=1)
    first, second = ((z - code) ** 2).sum(1).topk(2, largest=False).values.tolist()
    assert second - first > 1e-4 * second                     # no near-tie for the nearest (measured: 0.77)
    assert int(idx[0]) == int(((z - code) ** 2).sum(1).argmin())
    with pytest.raises(ValueError, match="k=60"):
        nearest_neighbours(z, 0, k=60)
    with pytest.raises(ValueError, match="query=60"):
        nearest_neighbours(z, 60)


def test_rank_dims_orders_by_closed_form_kl():
    # dim 0: q = N(0, 1) for every x (KL 0); dim 1: means +-2, unit variance (KL 2); dim 2: means +-1 (KL 0.5)
    n = 10
    sign = torch.tensor([1.0, -1.0]).repeat(n // 2)
    mu = torch.stack([torch.zeros(n), 2 * sign, sign], 1)
    order, kl = rank_dims(mu, torch.zeros(n, 3))
    assert order.tolist() == [1, 2, 0]
    torch.testing.assert_close(kl, torch.tensor([0.0, 2.0, 0.5]))


def test_traversal_codes_move_one_dimension_per_row():
    z0 = torch.tensor([1.0, 2.0, 3.0])
    codes = traversal_codes(z0, [2, 0], [-1.0, 0.0, 1.0])
    assert codes.shape == (2, 3, 3)
    assert codes[0].tolist() == [[1, 2, -1], [1, 2, 0], [1, 2, 1]]
    assert codes[1].tolist() == [[-1, 2, 3], [0, 2, 3], [1, 2, 3]]
    with pytest.raises(ValueError, match="dims"):
        traversal_codes(z0, [3], [0.0])


def test_decode_items_gives_images_or_sentences():
    torch.manual_seed(0)
    img = build_model("mlp", (1, 8, 8), 2, hidden=(8,))
    z = torch.randn(3, 2)
    torch.testing.assert_close(decode_items(img, z), decode_mean(img, z))
    ds = synthetic_text("test", n=4)
    vocab = vocabulary_of(ds)
    txt = build_model("lstm", ds.meta["shape"], 3, hidden=(16,), vocab_size=len(vocab)).eval()
    z = torch.randn(4, 3)
    sentences = decode_items(txt, z, vocab)
    ids = txt.decoder.mean(z)
    assert sentences == [vocab.decode(row) for row in ids] and all(isinstance(s, str) for s in sentences)
    with pytest.raises(ValueError, match="pass vocab"):
        decode_items(txt, z)
    with pytest.raises(ValueError, match="leave vocab=None"):
        decode_items(img, torch.randn(1, 2), vocab)


def test_conditional_log_probs_match_a_loop_and_vanish_in_spread_when_the_decoder_ignores_z():
    from vaelab.metrics import conditional_log_probs

    torch.manual_seed(0)
    model = build_model("mlp", (1, 8, 8), 3, hidden=(8,)).eval()
    x = (torch.rand(5, 1, 8, 8) > 0.5).float()
    z = torch.randn(4, 3)
    lp = conditional_log_probs(model, x, z)
    loop = torch.stack([torch.stack([model.decode(z[k:k + 1]).log_prob(x[n:n + 1])[0] for n in range(5)])
                        for k in range(4)])
    torch.testing.assert_close(lp, loop.detach())
    with torch.no_grad():
        model.decoder.net[0].weight.zero_()        # the first layer no longer sees z
    assert float(conditional_log_probs(model, x, z).std(0).max()) < 1e-5
    with pytest.raises(ValueError, match=r"\(K, 3\)"):
        conditional_log_probs(model, x, torch.zeros(3))
