"""MMD widgets and plots: set a control, check what was redrawn; plots take data and return figures."""

import pytest
import torch

from helpers import png, shown
from vaelab import plots
from vaelab.metrics import two_sample_demo
from vaelab.metrics.latent_paths import decode_mean, prior_codes
from vaelab.models import build_model
from vaelab.objectives import kernel_matrix, mmd
from vaelab.widgets import LambdaSweepExplorer, TwoSampleExplorer


def test_two_sample_explorer_redraws_with_the_chosen_settings():
    ex = TwoSampleExplorer(shift=0.0, bandwidth=1.0, n=40, permutations=50)
    assert ex.draws == 1 and ex.result is not None
    first = png(ex)
    ex.shift.value = 2.0
    assert ex.draws == 2 and png(ex) != first
    r = ex.result
    # what is shown is the MMD² of the samples shown, under the kernel chosen
    assert r["mmd2_u"] == pytest.approx(float(mmd(r["x"], r["y"], "rbf", bandwidth=1.0)), rel=1e-5)
    assert float(r["y"][:, 0].mean() - r["x"][:, 0].mean()) > 1.5 and r["p_value"] < 0.05
    ex.n.value = 25
    assert ex.result["x"].shape == (25, 2) and ex.last_data.shape == (50, 50)
    ex.median.value = True
    assert ex.result["bandwidth"] != 1.0
    ex.kernel.value = "imq"
    torch.testing.assert_close(ex.last_data, kernel_matrix(torch.cat([ex.result["x"], ex.result["y"]]), None, "imq"))


def test_two_sample_demo_rejects_bad_settings_and_the_widget_shows_the_error():
    with pytest.raises(ValueError, match="bandwidth must be in"):
        two_sample_demo(1.0, bandwidth=0.0)
    ex = TwoSampleExplorer(n=20, permutations=20)
    ex.n.value = 5
    assert ex.last_error is None
    ex.permutations = 0
    ex.shift.value = 1.0
    out = shown(ex)
    assert out["output_type"] == "error" and "permutations" in out["evalue"] and ex.last_error is not None


def fake_sweep():
    results = []
    for i, lam in enumerate([0.0, 10.0, 100.0]):
        torch.manual_seed(i)
        results.append({"lam": lam, "model": build_model("mlp", (1, 8, 8), 2, hidden=(8,)).eval(),
                        "kl": 10.0 - i, "mmd_prior": 1.0 / (i + 1), "rec": 20.0 + i})
    return results


def test_lambda_sweep_explorer_selects_a_precomputed_model():
    results = fake_sweep()
    ex = LambdaSweepExplorer(results, n_show=4, lam=10.0)
    assert ex.draws == 1 and ex.selected["lam"] == 10.0
    torch.testing.assert_close(ex.last_data, decode_mean(results[1]["model"], prior_codes(4, 2, 0)))
    first = png(ex)
    ex.slider.value = 2
    assert ex.selected["lam"] == 100.0 and png(ex) != first
    torch.testing.assert_close(ex.last_data, decode_mean(results[2]["model"], prior_codes(4, 2, 0)))
    with pytest.raises(ValueError, match="not in the sweep"):
        LambdaSweepExplorer(results, lam=3.0)
    with pytest.raises(ValueError, match="missing"):
        LambdaSweepExplorer([{"lam": 1.0}])


def test_mmd_plots_return_figures_and_check_shapes():
    x, y = torch.randn(10, 2), torch.randn(12, 2)
    fig = plots.two_sample_view(x, y, torch.rand(22, 22), 0.1, 0.2, torch.randn(30))
    assert len(fig.axes) >= 3
    z = torch.randn(200, 2)
    fig = plots.posterior_vs_prior({"a": z, "b": z * 2}, torch.randn(100, 2), {"a": 0.01, "b": 0.5},
                                   samples={"a": torch.rand(9, 1, 8, 8), "b": torch.rand(9, 1, 8, 8)})
    assert "0.5000" in "".join(ax.get_title() for ax in fig.axes)
    with pytest.raises(ValueError, match="2-D codes"):
        plots.posterior_vs_prior({"a": torch.randn(10, 3)}, torch.randn(10, 3))
    assert plots.metric_bars({"ELBO": 0.1, "MMD-VAE": 0.01}).axes
    assert plots.mmd_curve({"rbf": ([0, 1], [0.0, 0.2])}, "shift").axes
    assert plots.lambda_sweep_view([0, 1], [1, 2], [0.3, 0.1], [20, 21], 1, torch.rand(4, 1, 8, 8)).axes
