"""Metrics refuse NaN/Inf data with a ValueError that names the argument, the count and the first index.

Before check_finite, each of these calls returned NaN (or a number computed from NaN) without a word; the
`finite` half of each case checks that the same call on clean data gives finite numbers, so the refusal is
about the bad entry and not about the call.
"""
import math

import pytest
import torch

from helpers import ppca_vae
from vaelab.data.dataset import Dataset
from vaelab.inference import ais_log_px
from vaelab.metrics import (active_units, elbo_parts, encode_all, encode_mean, evaluate, inference_gaps, iw_log_px,
                            latent_usage, mmd_prior, mutual_information, pca_fit)
from vaelab.objectives import kernel_matrix, median_bandwidth, mmd, permutation_test

N, D, BAD = 6, 5, (3, 2)       # examples, data dimension, where the bad entry goes


def _data(bad=None):
    x = torch.randn(N, D, generator=torch.Generator().manual_seed(1))
    if bad is not None:
        x[BAD] = bad
    return x


def _model():
    return ppca_vae(d=2, D=D)[0]


def _encodings(bad=None):
    mu, logvar = torch.randn(N, 2, generator=torch.Generator().manual_seed(2)), torch.zeros(N, 2)
    if bad is not None:
        mu[BAD[0], 1] = bad
    return mu, logvar


def _dataset(x):
    return Dataset(x, None, {"kind": "real", "shape": [D], "name": "points", "split": "test"})


# name: (the argument the error must name, call(bad) -> the metric of data with `bad` at BAD, or of clean data)
CASES = {
    "iw_log_px": ("x", lambda bad: iw_log_px(_model(), _data(bad), 10)),
    "elbo_parts": ("x", lambda bad: elbo_parts(_model(), _data(bad))["rec"]),
    "evaluate": ("ds.x", lambda bad: torch.tensor(evaluate(_model(), _dataset(_data(bad)), iw_samples=10)["iw_nll"])),
    "latent_usage": ("x", lambda bad: torch.tensor(latent_usage(_model(), _data(bad))["kl"])),
    "encode_all": ("x", lambda bad: encode_all(_model(), _data(bad))[0]),
    "encode_mean": ("x", lambda bad: encode_mean(_model(), _data(bad))),
    "ais_log_px": ("x", lambda bad: ais_log_px(_model(), _data(bad), n_chains=2, n_steps=3, leapfrog=2)),
    "inference_gaps": ("x", lambda bad: torch.tensor(inference_gaps(_model(), _data(bad), iw_samples=10, steps=0,
                                                                    elbo_samples=4, fullcov=False)["log_px"])),
    "mutual_information": ("mu", lambda bad: torch.tensor(mutual_information(*_encodings(bad)))),
    "active_units": ("mu", lambda bad: active_units(_encodings(bad)[0])[1]),
    "mmd_prior": ("mu", lambda bad: torch.tensor(mmd_prior(*_encodings(bad)))),
    "pca_fit": ("z", lambda bad: pca_fit(_data(bad))["components"]),
    "mmd(x=...)": ("x", lambda bad: mmd(_data(bad), _data())),
    "mmd(y=...)": ("y", lambda bad: mmd(_data(), _data(bad), "rbf")),
    "kernel_matrix": ("x", lambda bad: kernel_matrix(_data(bad))),
    "median_bandwidth": ("y", lambda bad: torch.tensor(median_bandwidth(_data(), _data(bad)))),
    "permutation_test": ("x", lambda bad: torch.tensor(permutation_test(_data(bad), _data(), permutations=5)["mmd2"])),
}


@pytest.mark.parametrize("case", CASES)
def test_a_metric_of_finite_data_is_finite(case):
    _, call = CASES[case]
    assert torch.isfinite(call(None)).all()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("case", CASES)
def test_a_metric_of_non_finite_data_raises_naming_the_argument(case, bad):
    name, call = CASES[case]
    with pytest.raises(ValueError) as err:
        call(bad)
    msg = str(err.value)
    assert msg.startswith(f"{name} has 1 non-finite entry"), msg
    assert "finite values only" in msg


def test_check_finite_counts_the_bad_entries_and_names_the_first():
    from vaelab.checks import check_finite

    x = torch.zeros(4, 3)
    x[2, 1], x[3, 0], x[1, 2] = math.inf, math.nan, -math.inf
    with pytest.raises(ValueError, match=r"^data has 3 non-finite entries .* \(shape \(4, 3\)\), the first at index "
                                         r"\(1, 2\): -inf"):
        check_finite("data", x)
    assert check_finite("data", torch.zeros(2)) is not None
    assert torch.equal(check_finite("ids", torch.arange(3)), torch.arange(3))   # integer ids are finite by type
    with pytest.raises(TypeError, match="data must be a torch.Tensor, got list"):
        check_finite("data", [1.0, math.nan])


def test_the_per_step_mmd_estimate_stays_silent_and_propagates_nan():
    """objectives.infovae computes MMD every training step: mmd_estimate makes no host read, so a NaN sample
    reaches the loss (the training loop's guard stops on it) instead of raising mid-step."""
    from vaelab.objectives.mmd import mmd_estimate

    assert torch.isnan(mmd_estimate(_data(math.nan), _data()))
    assert torch.equal(mmd_estimate(_data(), _data(0.5)), mmd(_data(), _data(0.5)))
