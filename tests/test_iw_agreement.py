"""iw_log_px (batched over examples, chunked over samples, running logsumexp) against the brute-force
reference of benchmarks/bench_iwnll.py (one example at a time), and that reference against exact log p(x) by
quadrature over a 1-D latent."""
import math
import sys
from pathlib import Path

import pytest
import torch

from vaelab.metrics import iw_log_px
from vaelab.models import build_model
from vaelab.models.distributions import standard_normal_log_prob

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("bench_iwnll", None)
    import bench_iwnll
    return bench_iwnll


def small_model(latent_dim):
    torch.manual_seed(1)
    model = build_model("mlp", (1, 4, 4), latent_dim, (8,)).eval()
    x = (torch.rand(13, 1, 4, 4, generator=torch.Generator().manual_seed(2)) < 0.4).float()
    return model, x


def test_batched_and_per_example_agree_on_the_same_noise(bench):
    # 13 examples in batches of 5 (5 + 5 + 3) and K = 37 in chunks of 10 (10 + 10 + 10 + 7): every seam is crossed
    model, x = small_model(3)
    batched = iw_log_px(model, x, 37, batch_size=5, chunk=10, seed=3)
    tape = bench.noise_tape(13, 37, 3, 5, 10, 3, "cpu")
    loop = bench.per_example_log_px(model, x, 37, tape)
    assert torch.allclose(batched, loop, atol=1e-4, rtol=0)
    assert abs(float(batched.mean() - loop.mean())) <= 0.01


def test_other_noise_gives_other_numbers(bench):
    # the agreement above is not automatic: the loop with a different tape differs by Monte Carlo noise
    model, x = small_model(3)
    batched = iw_log_px(model, x, 37, batch_size=5, chunk=10, seed=3)
    other = bench.per_example_log_px(model, x, 37, bench.noise_tape(13, 37, 3, 5, 10, 4, "cpu"))
    assert (batched - other).abs().max() > 1e-3


def exact_log_px(model, x, grid=4001, half_width=10.0):
    """log ∫ p(x|z) N(z; 0, 1) dz by the trapezoid-free Riemann sum on a fine grid (1-D latent)."""
    z = torch.linspace(-half_width, half_width, grid).view(grid, 1, 1)
    log_joint = model.decode(z.expand(grid, x.shape[0], 1)).log_prob(x) + standard_normal_log_prob(z)
    return torch.logsumexp(log_joint, 0) + math.log(2 * half_width / (grid - 1))


@torch.no_grad()
def test_the_reference_and_iw_log_px_approach_exact_log_px(bench):
    model, x = small_model(1)
    exact = exact_log_px(model, x)
    torch.manual_seed(5)
    loop = bench.per_example_log_px(model, x, 20000)
    batched = iw_log_px(model, x, 20000, batch_size=4, seed=5)
    assert (loop - exact).abs().max() < 0.02
    assert (batched - exact).abs().max() < 0.02
    # and both are lower bounds in expectation: with K = 1 (the ELBO) the mean falls visibly below the truth,
    # by more than 4 standard errors of 50 independent seeds' mean (one seed alone was 1.1 SE of evidence)
    short = torch.stack([(iw_log_px(model, x, 1, seed=s) - exact).mean() for s in range(50)]).double()
    assert float(short.mean()) < -4 * float(short.std() / math.sqrt(len(short)))


@pytest.mark.parametrize("name", ["vae-digits-8d", "remedy-pixelcnn/none"])
def test_bf16_autocast_moves_the_iw_nll_by_less_than_five_hundredths_of_a_nat(name):
    from vaelab import zoo

    model, _ = zoo.load(name, quick=True, device="cpu")
    x = zoo.test_data(name, n=100, quick=True).x
    fp32 = iw_log_px(model, x, 200, seed=0)
    bf16 = iw_log_px(model, x, 200, seed=0, precision="bf16")
    assert bf16.dtype == torch.float32
    assert not torch.equal(fp32, bf16)             # the autocast did change the arithmetic ...
    assert abs(float(fp32.mean() - bf16.mean())) < 0.05   # ... but not the estimate, at the tolerance


def test_iw_log_px_keeps_float64_and_rejects_an_unknown_precision():
    torch.manual_seed(0)
    model = build_model("mlp", (5,), 2, hidden=(8,), likelihood="gaussian").double()
    x = torch.randn(4, 5, dtype=torch.float64)
    assert iw_log_px(model, x, 10).dtype == torch.float64
    with pytest.raises(ValueError, match=r"precision='fp64' is not one of \('fp32', 'tf32', 'bf16'\)"):
        iw_log_px(model, x, 10, precision="fp64")
