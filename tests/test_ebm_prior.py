"""The latent EBM prior p_a(z) ∝ exp(f_a(z)) N(z; 0, I) against numerical quadrature on a fine 2-D grid, and its
contrastive learning signal against brute-force per-sample gradients."""
import copy
import math

import pytest
import torch

from vaelab.inference import gaussian_langevin_law, prior_langevin
from vaelab.models import EBMPrior
from vaelab.objectives import ebm_prior_loss


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tilted_prior(seed=4, scale=15.0):
    """A small random 2-D EBM prior whose f_a varies by a few nats under N(0, I) (seed 4: log Z = -0.29, mean
    (0.03, 1.20), covariance [[0.79, 0.25], [0.25, 2.04]] by quadrature)."""
    torch.manual_seed(seed)
    prior = EBMPrior(2, hidden=(16, 16))
    with torch.no_grad():
        prior.net[-1].weight.mul_(scale)
    return prior


def flat_prior(d=3):
    prior = EBMPrior(d, hidden=(8,))
    with torch.no_grad():
        prior.net[-1].weight.zero_()
        prior.net[-1].bias.zero_()
    return prior


def grid_truth(prior, half=9.0, h=0.02):
    """log Z, mean and covariance of p_a by quadrature (a sum over the grid [-half, half]^2, float64), and the
    mass within 2 of the grid's edge (what the grid may be missing beyond it)."""
    g = torch.arange(-half, half + h / 2, h, dtype=torch.float64)
    z = torch.cartesian_prod(g, g)
    with torch.no_grad():
        lp = copy.deepcopy(prior).double().log_prob_unnormalised(z)
    log_z = torch.logsumexp(lp, 0) + 2 * math.log(h)
    w = torch.exp(lp - log_z) * h * h
    mean = (w[:, None] * z).sum(0)
    c = z - mean
    edge = w[z.abs().amax(-1) > half - 2].sum().item()
    return log_z.item(), mean, (w[:, None, None] * c[:, :, None] * c[:, None, :]).sum(0), edge


def test_the_density_and_its_config():
    prior = EBMPrior(3, hidden=(5, 7), activation="lrelu")
    assert prior.config == {"latent_dim": 3, "hidden": [5, 7], "activation": "lrelu"}
    twin = EBMPrior(**prior.config)
    twin.load_state_dict(prior.state_dict())
    z = torch.randn(6, 3, generator=gen(1))
    assert torch.equal(twin.f(z), prior.f(z)) and prior.f(z).shape == (6,)
    log_normal = -0.5 * (z ** 2).sum(-1) - 1.5 * math.log(2 * math.pi)
    assert torch.allclose(prior.log_prob_unnormalised(z), prior.f(z) + log_normal, atol=1e-6)
    assert torch.allclose(prior.log_prob(z, 0.25), prior.f(z) + log_normal - 0.25, atol=1e-6)


@pytest.mark.parametrize("call, name", [
    (lambda: EBMPrior(0), "latent_dim"), (lambda: EBMPrior(2, activation="tanh"), "activation"),
    (lambda: EBMPrior(2, hidden=(0,)), "hidden width"), (lambda: EBMPrior(2).f(torch.zeros(4, 3)), "z must"),
    (lambda: EBMPrior(2).f(torch.zeros(4)), "z must"), (lambda: EBMPrior(2).log_prob(torch.zeros(4, 2), math.nan), "log_z"),
    (lambda: EBMPrior(2).log_partition(1), "n_samples"), (lambda: EBMPrior(2).log_partition(batch_size=0), "batch_size"),
])
def test_wrong_input_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_log_partition_matches_quadrature_within_its_standard_error():
    prior = tilted_prior()
    log_z, _, _, edge = grid_truth(prior)
    assert edge < 1e-6 and abs(log_z) > 0.2                              # the grid holds the mass; Z is not 1
    est, se = prior.log_partition(100_000, generator=gen(1), batch_size=30_000)
    assert abs(est - log_z) < 4 * se and se < 0.03
    # the reported SE is the spread over seeds: 20 estimates of 20k draws each
    runs = torch.tensor([prior.log_partition(20_000, generator=gen(10 + s)) for s in range(20)], dtype=torch.float64)
    ratio = runs[:, 0].std() / runs[:, 1].mean()
    assert 0.6 < ratio < 1.6, ratio
    # the normalised density integrates to 1 given the true log Z
    h, g = 0.05, torch.arange(-9.0, 9.0 + 0.025, 0.05)
    with torch.no_grad():
        total = prior.log_prob(torch.cartesian_prod(g, g), log_z).exp().sum().item() * h * h
    assert abs(total - 1) < 1e-3


def test_a_flat_energy_samples_the_standard_normal():
    prior, n = flat_prior(3), 4000
    z = prior_langevin(prior, n, steps=100, step_size=0.5, mala=True, generator=gen(2)).z.double()
    dev = (z - z.mean(0)) ** 2
    assert (z.mean(0).abs() < 4 / math.sqrt(n)).all()
    assert ((dev.mean(0) - 1).abs() < 4 * dev.std(0) / math.sqrt(n)).all()
    # the unadjusted default chain (60 steps of 0.4 from N(0, I)) follows its exact law: variance 1 -> ~1.04
    u = prior_langevin(prior, n, generator=gen(3)).z.double()
    _, law = gaussian_langevin_law(torch.zeros(3), torch.eye(3), steps=60, step_size=0.4)
    dev = (u - u.mean(0)) ** 2
    assert (u.mean(0).abs() < 4 * law.diagonal().sqrt() / math.sqrt(n)).all()
    assert ((dev.mean(0) - law.diagonal()).abs() < 4 * dev.std(0) / math.sqrt(n)).all()
    assert law.diagonal().min() > 1.03


def test_long_run_mala_matches_the_grid_moments_of_a_tilted_prior():
    prior, n = tilted_prior(), 4000
    _, mean, cov, _ = grid_truth(prior)
    start = prior_langevin(prior, n, steps=150, step_size=0.5, mala=True, generator=gen(4))
    r = prior_langevin(prior, z0=start.z, steps=150, step_size=0.5, mala=True, generator=gen(5))   # persistent
    z = r.z.double()
    assert ((z.mean(0) - mean).abs() < 4 * cov.diagonal().sqrt() / math.sqrt(n)).all()
    c = z - z.mean(0)
    prods = c[:, :, None] * c[:, None, :]
    assert ((prods.mean(0) - cov).abs() < 4 * prods.std(0) / math.sqrt(n)).all()
    assert (mean.abs() > 0.3).any() and ((cov - torch.eye(2)).abs() > 0.1).all()   # the tilt moved it off N(0, I)


def test_the_contrastive_loss_gradient_is_the_difference_of_mean_score_gradients():
    prior = tilted_prior(seed=1)
    z_post, z_prior = torch.randn(5, 2, generator=gen(6)) + 1, torch.randn(7, 2, generator=gen(7))
    loss, stats = ebm_prior_loss(prior, z_post, z_prior)
    params = list(prior.parameters())
    got = torch.autograd.grad(loss, params)

    def mean_grad(z):                        # brute force: ∇_a f_a(z_i) one sample at a time, then averaged
        per = [torch.autograd.grad(prior.f(z[i:i + 1]).sum(), params) for i in range(z.shape[0])]
        return [torch.stack(g).mean(0) for g in zip(*per)]

    want = [gp - gq for gp, gq in zip(mean_grad(z_prior), mean_grad(z_post))]   # E_prior[∇f] − E_post[∇f]
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        f_post, f_prior = prior.f(z_post).mean(), prior.f(z_prior).mean()
    assert torch.allclose(stats["f_post"], f_post) and torch.allclose(stats["f_prior"], f_prior)
    assert torch.allclose(loss.detach(), f_prior - f_post) and torch.equal(stats["ebm_loss"], loss.detach())
    assert not any(v.requires_grad for v in stats.values())
    z_leaf = z_post.clone().requires_grad_(True)
    ebm_prior_loss(prior, z_leaf, z_prior)[0].backward()
    assert z_leaf.grad is None                                            # the samples are held fixed


@pytest.mark.parametrize("z_post, z_prior, name", [(torch.zeros(3), torch.zeros(3, 2), "z_post"),
                                                    (torch.zeros(3, 2), torch.zeros(0, 2), "z_prior"),
                                                    (torch.zeros(3, 2), torch.zeros(3, 4), "one latent size")])
def test_the_contrastive_loss_checks_its_samples(z_post, z_prior, name):
    with pytest.raises(ValueError, match=name):
        ebm_prior_loss(EBMPrior(2, hidden=(4,)), z_post, z_prior)
