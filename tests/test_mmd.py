"""MMD against ground truth: closed forms for Gaussians, brute-force kernels, equal-distribution nulls."""
import itertools
import math
import statistics

import pytest
import torch

from vaelab.metrics import mmd_prior, two_sample_demo
from vaelab.objectives import SCALES, kernel_matrix, median_bandwidth, mmd, permutation_test


def expected_rbf(mu1, cov1, mu2, cov2, h):
    """E exp(-|x-y|²/(2h²)) for x ~ N(mu1, cov1), y ~ N(mu2, cov2), independent.

    x - y ~ N(D, S) with D = mu1 - mu2, S = cov1 + cov2, and exp(-|w|²/(2h²)) = (2πh²)^{d/2} N(w; 0, h²I),
    so the expectation is (2πh²)^{d/2} N(D; 0, S + h²I) = det(I + S/h²)^{-1/2} exp(-½ Dᵀ (S + h²I)⁻¹ D).
    """
    d = mu1.shape[0]
    s = cov1 + cov2
    diff = mu1 - mu2
    eye = torch.eye(d, dtype=torch.float64)
    return float(torch.linalg.det(eye + s / h ** 2) ** -0.5
                 * torch.exp(-0.5 * diff @ torch.linalg.solve(s + h ** 2 * eye, diff)))


def gaussian_mmd2(mu1, cov1, mu2, cov2, h):
    return (expected_rbf(mu1, cov1, mu1, cov1, h) + expected_rbf(mu2, cov2, mu2, cov2, h)
            - 2 * expected_rbf(mu1, cov1, mu2, cov2, h))


MU1 = torch.tensor([0.0, 0.0], dtype=torch.float64)
MU2 = torch.tensor([0.8, -0.3], dtype=torch.float64)
COV1 = torch.tensor([[1.0, 0.3], [0.3, 0.5]], dtype=torch.float64)
COV2 = torch.tensor([[0.6, 0.0], [0.0, 1.4]], dtype=torch.float64)


def draw(mu, cov, n, gen):
    return mu + torch.randn(n, mu.shape[0], generator=gen, dtype=torch.float64) @ torch.linalg.cholesky(cov).T


def test_the_closed_form_expected_kernel_matches_brute_force_monte_carlo():
    # The MATH.md formula for E k(x, y), checked independently of any vaelab code.
    gen = torch.Generator().manual_seed(1)
    h = 0.9
    x, y = draw(MU1, COV1, 400_000, gen), draw(MU2, COV2, 400_000, gen)
    mc = torch.exp(-((x - y) ** 2).sum(1) / (2 * h * h))
    se = float(mc.std()) / math.sqrt(mc.shape[0])
    assert abs(float(mc.mean()) - expected_rbf(MU1, COV1, MU2, COV2, h)) < 4 * se


@pytest.mark.parametrize("h", [0.5, 1.5])
def test_unbiased_rbf_estimator_averages_to_the_closed_form(h):
    gen = torch.Generator().manual_seed(0)
    est = torch.tensor([float(mmd(draw(MU1, COV1, 40, gen), draw(MU2, COV2, 30, gen), "rbf", bandwidth=h))
                        for _ in range(400)], dtype=torch.float64)
    truth = gaussian_mmd2(MU1, COV1, MU2, COV2, h)
    se = float(est.std()) / math.sqrt(est.shape[0])
    assert abs(float(est.mean()) - truth) < 4 * se, (float(est.mean()), truth, se)


def test_the_biased_estimator_is_biased_upwards_and_the_unbiased_one_can_go_negative():
    gen = torch.Generator().manual_seed(0)
    u, v = [], []
    for _ in range(300):
        x, y = draw(MU1, COV1, 20, gen), draw(MU1, COV1, 20, gen)
        u.append(float(mmd(x, y, "rbf", bandwidth=1.0)))
        v.append(float(mmd(x, y, "rbf", bandwidth=1.0, unbiased=False)))
    u, v = torch.tensor(u), torch.tensor(v)
    assert (u < 0).any(), "the U-statistic should sometimes be negative when P = Q"
    assert (v >= -1e-6).all(), "the V-statistic of a PSD kernel is never negative"
    assert float(v.mean()) > float(u.mean()) + 4 * float((v - u).std()) / math.sqrt(len(v))


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_of_two_samples_of_one_distribution_is_about_zero(kernel):
    gen = torch.Generator().manual_seed(3)
    est = torch.tensor([float(mmd(torch.randn(50, 3, generator=gen), torch.randn(50, 3, generator=gen), kernel))
                        for _ in range(200)])
    se = float(est.std()) / math.sqrt(len(est))
    assert abs(float(est.mean())) < 4 * se


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_grows_monotonically_with_a_mean_shift(kernel):
    gen = torch.Generator().manual_seed(4)
    x, base = torch.randn(400, 2, generator=gen), torch.randn(400, 2, generator=gen)
    shift = torch.tensor([1.0, 0.0])
    values = [float(mmd(x, base + s * shift, kernel, bandwidth=1.0)) for s in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(values, values[1:])), values


@pytest.mark.parametrize("kernel, opts", [("imq", {}), ("rbf", {"bandwidth": 0.7}), ("rbf", {"bandwidth": "median"})])
def test_kernel_matrices_are_symmetric_and_positive_semidefinite(kernel, opts):
    x = torch.randn(60, 4, dtype=torch.float64)
    k = kernel_matrix(x, None, kernel, **opts)
    assert torch.allclose(k, k.T)
    eig = torch.linalg.eigvalsh(k)
    assert float(eig.min()) > -1e-8 * float(eig.max())


def test_imq_kernel_matches_its_definition_pair_by_pair():
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    y = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [3.0, 0.0]])
    k = kernel_matrix(x, y, "imq", sigma2=0.5)
    for i, j in itertools.product(range(2), range(3)):
        r2 = sum((a - b) ** 2 for a, b in zip(x[i].tolist(), y[j].tolist()))
        want = sum((2 * 2 * 0.5 * s) / (2 * 2 * 0.5 * s + r2) for s in (0.1, 0.2, 0.5, 1, 2, 5, 10))
        assert float(k[i, j]) == pytest.approx(want, rel=1e-6)
    assert SCALES == (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def test_estimators_match_their_definition_by_brute_force():
    x, y = torch.randn(5, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / (2 * 0.8 ** 2))  # noqa: E731
    xx = [k(x[i], x[j]) for i in range(5) for j in range(5) if i != j]
    yy = [k(y[i], y[j]) for i in range(4) for j in range(4) if i != j]
    xy = [k(a, b) for a in x for b in y]
    u = sum(xx) / 20 + sum(yy) / 12 - 2 * sum(xy) / 20
    v = (sum(xx) + 5) / 25 + (sum(yy) + 4) / 16 - 2 * sum(xy) / 20
    assert float(mmd(x, y, "rbf", bandwidth=0.8)) == pytest.approx(u, rel=1e-9)
    assert float(mmd(x, y, "rbf", bandwidth=0.8, unbiased=False)) == pytest.approx(v, rel=1e-9)


def test_median_heuristic_is_the_median_distance_of_the_pooled_sample():
    x, y = torch.randn(7, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    pooled = torch.cat([x, y]).tolist()
    dists = [math.dist(a, b) for a, b in itertools.combinations(pooled, 2)]
    assert median_bandwidth(x, y) == pytest.approx(statistics.median(d * d for d in dists) ** 0.5, rel=1e-9)
    h = median_bandwidth(x, y)
    assert float(mmd(x, y, "rbf")) == pytest.approx(float(mmd(x, y, "rbf", bandwidth=h)), rel=1e-12)


def test_permutation_test_is_calibrated_under_the_null_and_powerful_under_a_shift():
    gen = torch.Generator().manual_seed(5)
    ps = [permutation_test(torch.randn(30, 2, generator=gen), torch.randn(30, 2, generator=gen), "rbf",
                           permutations=99, seed=s)["p_value"] for s in range(100)]
    rejected = sum(p <= 0.05 for p in ps) / len(ps)
    assert rejected < 0.13, f"{rejected:.2f} of null tests rejected at level 0.05"
    assert 0.3 < statistics.mean(ps) < 0.7          # p-values are about uniform under H0
    # float64: the test's observed statistic (label-matrix products over the pooled kernel) and mmd() (three
    # kernel blocks) sum in different orders, and MMD² is a difference of kernel means: in float32 the two
    # agree only to ~1e-6 relative, a last-bit margin that another CPU's BLAS could eat.
    x = torch.randn(60, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(60, 2, generator=gen, dtype=torch.float64) + 1.5
    out = permutation_test(x, y, "imq", permutations=99)
    assert out["p_value"] == pytest.approx(1 / 100)
    assert out["mmd2"] == pytest.approx(float(mmd(x, y, "imq")), rel=1e-9)
    assert out["null"].shape == (99,) and float(out["null"].max()) < out["mmd2"]


def test_mmd_is_differentiable_and_a_gradient_step_reduces_it():
    x = (torch.randn(100, 2) + 2.0).requires_grad_(True)
    y = torch.randn(100, 2)
    for kernel in ("imq", "rbf"):
        before = mmd(x, y, kernel)
        (g,) = torch.autograd.grad(before, x)
        after = mmd((x - 0.5 * g / g.norm(dim=1, keepdim=True).mean()).detach(), y, kernel)
        assert float(after) < float(before.detach())


def test_mmd_prior_is_about_zero_when_the_aggregate_posterior_is_the_prior():
    # q(z|x) = N(mu_x, s²) with mu_x ~ N(0, 1 - s²): the aggregate posterior is exactly N(0, I).
    gen = torch.Generator().manual_seed(0)
    s2 = 0.36
    vals = [mmd_prior(torch.randn(400, 2, generator=gen) * math.sqrt(1 - s2), torch.full((400, 2), math.log(s2)),
                      seed=k) for k in range(30)]
    se = statistics.stdev(vals) / math.sqrt(len(vals))
    assert abs(statistics.mean(vals)) < 4 * se
    shifted = mmd_prior(torch.randn(400, 2, generator=gen) * 0.8 + 1.0, torch.full((400, 2), math.log(s2)))
    assert shifted > 20 * se


def test_two_sample_demo_reports_a_significant_difference_only_for_a_shift():
    same, shifted = two_sample_demo(0.0, n=80, seed=1), two_sample_demo(2.0, n=80, seed=1)
    assert shifted["mmd2_u"] > same["mmd2_u"] and shifted["p_value"] < 0.05 < same["p_value"]
    assert same["K"].shape == (160, 160)


@pytest.mark.parametrize("call, message", [
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 2), "rbf", bandwidth=0.0), "bandwidth must be in (0.0"),
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 2), "rbf", bandwidth=-1.0), "got -1.0"),
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 2), "rbf", bandwidth="mean"), "'median'"),
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 2), "imq", scales=[]), "scales=() is empty"),
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 2), "imq", scales=[1.0, 0.0]), "scales entry must be in (0.0"),
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 3)), "d=2"),
    (lambda: mmd(torch.randn(1, 2), torch.randn(5, 2)), "at least 2 samples"),
    (lambda: mmd(torch.randn(5), torch.randn(5, 1)), "shape (n, d)"),
    (lambda: mmd(torch.randn(5, 2), torch.randn(5, 2), "gauss"), "'imq', 'rbf'"),
    (lambda: kernel_matrix(torch.randn(5, 2), kernel="imq", sigma2=0), "sigma2 must be in (0.0"),
    (lambda: permutation_test(torch.randn(1, 2), torch.randn(3, 2)), "at least 2 samples"),
    (lambda: permutation_test(torch.randn(4, 2), torch.randn(3, 2), permutations=0), "permutations must be"),
])
def test_bad_input_gives_a_clear_error(call, message):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert message in str(err.value)


def test_the_biased_estimator_accepts_a_single_sample():
    assert torch.isfinite(mmd(torch.randn(1, 2), torch.randn(1, 2), unbiased=False))
