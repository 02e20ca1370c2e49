"""The Langevin explorer (notebook 07) and the chain moments it shows, headless."""
import pytest
import torch

from vaelab import widgets
from vaelab.data import Dataset
from vaelab.metrics import chain_samples, moment_bias, sample_moments
from vaelab.metrics.encoder_free import chain_active_units
from vaelab.models import build_model


@pytest.fixture(scope="module")
def model_and_data():
    torch.manual_seed(0)
    model = build_model("mlp", (1, 4, 4), latent_dim=2, hidden=[16])
    x = (torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    return model.eval(), Dataset(x, torch.arange(5), {"kind": "binary"})


def test_sample_moments_ses_match_the_spread_of_repeated_estimates():
    gen = torch.Generator().manual_seed(0)
    means, variances, ses, vses = [], [], [], []
    for _ in range(200):
        m = sample_moments(torch.randn(400, 2, generator=gen) * torch.tensor([1.0, 2.0]))
        means.append(m["mean"]), variances.append(m["var"]), ses.append(m["mean_se"]), vses.append(m["var_se"])
    means, variances = torch.stack(means), torch.stack(variances)
    # the reported SEs agree with the actual spread of the estimates over 200 repetitions (within 20%)
    assert torch.allclose(torch.stack(ses).mean(0), means.std(0), rtol=0.2)
    assert torch.allclose(torch.stack(vses).mean(0), variances.std(0), rtol=0.2)


def test_moment_bias_is_zero_in_expectation_and_flags_a_shift():
    gen = torch.Generator().manual_seed(0)
    grid = {"mean": torch.tensor([0.5, -1.0]), "cov": torch.diag(torch.tensor([0.25, 4.0]))}
    z = grid["mean"] + torch.randn(2000, 2, generator=gen) * torch.tensor([0.5, 2.0])
    assert moment_bias(z, grid)["max_z"] < 4
    assert moment_bias(z + torch.tensor([0.2, 0.0]), grid)["max_z"] > 10


def test_chain_active_units_removes_monte_carlo_noise():
    gen = torch.Generator().manual_seed(0)
    n, chains = 5000, 4
    # unit 0 carries x (E[z|x] varies with variance 1), unit 1 is collapsed (posterior = prior for every x)
    signal = torch.randn(n, generator=gen)
    draws = torch.stack([signal[:, None] + 0.3 * torch.randn(n, chains, generator=gen),
                         torch.randn(n, chains, generator=gen)], -1)                   # (n, chains, 2)
    mean, var = draws.mean(1), draws.var(1, unbiased=True)
    assert int((mean.var(0) > 0.01).sum()) == 2                # the uncorrected count calls noise a unit
    count, per_dim = chain_active_units(mean, var, chains)
    assert count == 1 and per_dim[1].abs() < 0.05


def test_chain_samples_reproducible_and_mala_reports_acceptance(model_and_data):
    model, data = model_and_data
    a = chain_samples(model, data.x[0], n_chains=20, steps=5, step_size=0.2, seed=3)
    b = chain_samples(model, data.x[0], n_chains=20, steps=5, step_size=0.2, seed=3)
    assert torch.equal(a["z"], b["z"]) and a["accept_rate"] is None
    m = chain_samples(model, data.x[0], n_chains=20, steps=5, step_size=0.2, mala=True, seed=3)
    assert 0 <= m["accept_rate"] <= 1
    with pytest.raises(ValueError, match="one example"):
        chain_samples(model, data.x[:2], n_chains=20, steps=5)


def test_langevin_explorer_redraws_on_each_control(model_and_data):
    model, data = model_and_data
    refs = {"reference": dict(steps=3, step_size=0.3)}
    ex = widgets.langevin_explorer(model, data, 1, references=refs, steps=4, step_size=0.2, n_chains=50)
    assert ex.last_error is None and ex.draws == 1
    assert list(ex.last_data["chains"])[1] == "reference"
    first = ex.last_data["chains"][next(iter(ex.last_data["chains"]))]["z"]
    ex.steps.value = 30
    assert ex.draws == 2 and "K=30" in next(iter(ex.last_data["chains"]))
    assert not torch.equal(first, ex.last_data["chains"][next(iter(ex.last_data["chains"]))]["z"])
    ex.temperature.value = 0.0                                 # noiseless gradient ascent
    assert ex.draws == 3 and "T=0" in next(iter(ex.last_data["chains"]))
    ex.mala.value = True                                       # MALA needs T > 0: the widget runs plain ULA at T = 0
    assert ex.last_error is None and ex.draws == 4
    ex.temperature.value = 1.0
    assert "MALA" in next(iter(ex.last_data["chains"])) and ex.last_error is None
    # the reference chains are computed once and kept
    assert ex.last_data["chains"]["reference"] is ex.reference["chains"]["reference"]


def test_langevin_explorer_refuses_a_non_2d_model(model_and_data):
    _, data = model_and_data
    model = build_model("mlp", (1, 4, 4), latent_dim=3, hidden=[8])
    with pytest.raises(ValueError, match="latent_dim=2"):
        widgets.langevin_explorer(model, data)
