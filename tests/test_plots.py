"""Plots build figures from data: the right number of images, points and bars, in the right places."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from vaelab import plots

H = W = 8


def fake_images(n, seed=0):
    return torch.rand(n, 1, H, W, generator=torch.Generator().manual_seed(seed))


def images_of(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_tile_places_each_image_in_its_cell():
    imgs = fake_images(7)
    mosaic = plots.tile(imgs, ncol=3, pad=1)
    assert mosaic.shape == (3 * (H + 1) + 1, 3 * (W + 1) + 1)       # 7 images on 3 columns -> 3 rows
    for i in range(7):
        r, c = divmod(i, 3)
        cell = mosaic[1 + r * (H + 1):1 + r * (H + 1) + H, 1 + c * (W + 1):1 + c * (W + 1) + W]
        np.testing.assert_allclose(cell, imgs[i, 0].numpy())


def test_image_grid_draws_one_mosaic_with_all_images():
    imgs = fake_images(10)
    fig = plots.image_grid(imgs, ncol=5, title="ten")
    shown = images_of(fig)
    assert len(shown) == 1
    assert shown[0].get_array().shape == (2 * (H + 1) + 1, 5 * (W + 1) + 1)
    assert fig.axes[0].get_title() == "ten"


def test_image_grid_rejects_points_and_bad_captions():
    with pytest.raises(ValueError, match="shape"):
        plots.image_grid(torch.randn(10, 2))
    with pytest.raises(ValueError, match="captions"):
        plots.image_grid(fake_images(3), captions=["a", "b"])


def test_reconstruction_rows_has_originals_above_reconstructions():
    x, r = fake_images(6, 1), fake_images(6, 2)
    fig = plots.reconstruction_rows(x, r)
    top, bottom = images_of(fig)
    assert top.get_array().shape == (H + 2, 6 * (W + 1) + 1)
    np.testing.assert_allclose(top.get_array()[1:1 + H, 1:1 + W], x[0, 0].numpy())
    np.testing.assert_allclose(bottom.get_array()[1:1 + H, 1:1 + W], r[0, 0].numpy())
    with pytest.raises(ValueError, match="one shape"):
        plots.reconstruction_rows(x, fake_images(5))


def test_latent_scatter_points_highlights_and_path():
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    y = torch.arange(50) % 10
    path = torch.stack([torch.linspace(-1, 1, 6), torch.zeros(6)], 1)
    fig = plots.latent_scatter(z, y, highlight=[3, 7], path=path)
    ax = fig.axes[0]
    points, rings = ax.collections[0], ax.collections[1]
    np.testing.assert_allclose(points.get_offsets(), z.numpy())
    np.testing.assert_allclose(rings.get_offsets(), z[[3, 7]].numpy())
    path_line = [ln for ln in ax.get_lines() if ln.get_label() == "path"]
    assert len(path_line) == 1 and len(path_line[0].get_xdata()) == 6
    assert len(ax.get_legend().get_texts()) == 10            # one entry per digit class


def test_latent_scatter_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="latent_dim=2"):
        plots.latent_scatter(torch.randn(5, 3))
    with pytest.raises(ValueError, match="labels"):
        plots.latent_scatter(torch.randn(5, 2), labels=torch.arange(4))


def test_decoder_view_marks_z_on_the_map():
    z = torch.tensor([0.5, -1.0])
    fig = plots.decoder_view(fake_images(1)[0], z, background=torch.randn(20, 2), labels=torch.arange(20) % 10)
    assert len(images_of(fig)) == 1
    crosses = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "X"]
    assert len(crosses) == 1
    assert (crosses[0].get_xdata()[0], crosses[0].get_ydata()[0]) == (0.5, -1.0)
    # Without a 2-D map the view is just the image.
    assert len(plots.decoder_view(fake_images(1)[0], torch.zeros(5)).axes) == 1


def test_history_curves_one_panel_per_key_with_every_epoch():
    history = [{"epoch": e, "loss": 50.0 / e, "rec": 45.0 / e, "kl": 1.0 + e} for e in range(1, 8)]
    fig = plots.history_curves(history)
    assert len(fig.axes) == 3
    for ax, key in zip(fig.axes, ("loss", "rec", "kl")):
        (line,) = ax.get_lines()
        np.testing.assert_allclose(line.get_ydata(), [h[key] for h in history])
    with pytest.raises(ValueError, match="empty"):
        plots.history_curves([])


def test_elbo_anatomy_stacks_kl_on_reconstruction():
    rec, kl = [20.0, 30.0, 25.0], [2.0, 5.0, 0.5]
    fig = plots.elbo_anatomy(rec, kl, labels=["a", "b", "c"])
    bars = fig.axes[0].patches
    assert len(bars) == 6
    rec_bars, kl_bars = bars[:3], bars[3:]
    np.testing.assert_allclose([b.get_width() for b in rec_bars], rec)
    np.testing.assert_allclose([b.get_width() for b in kl_bars], kl)
    np.testing.assert_allclose([b.get_x() for b in kl_bars], rec)      # KL starts where reconstruction ends
    with pytest.raises(ValueError, match="one length"):
        plots.elbo_anatomy([1.0, 2.0], [1.0])


def test_rate_distortion_curve_and_highlight():
    rates, dist, betas = [8.0, 3.0, 0.5], [18.0, 21.0, 26.0], [0.1, 1.0, 4.0]
    fig = plots.rate_distortion(rates, dist, betas, highlight=1)
    ax = fig.axes[0]
    curve = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 3]
    assert len(curve) == 1
    np.testing.assert_allclose(sorted(curve[0].get_xdata()), sorted(rates))
    marked = [ln for ln in ax.get_lines() if ln.get_markersize() >= 20]
    assert [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in marked] == [(3.0, 21.0)]
    assert sum("β=" in t.get_text() for t in ax.texts) == 3
    with pytest.raises(ValueError, match="highlight"):
        plots.rate_distortion(rates, dist, highlight=3)


def test_composite_views():
    fig = plots.beta_sweep_view([5.0, 1.0], [20.0, 25.0], [0.5, 2.0], 0, fake_images(4), fake_images(4, 1),
                                fake_images(3, 2))
    assert len(images_of(fig)) == 3
    fig = plots.interpolation_view(fake_images(6), torch.linspace(0, 1, 6), fake_images(1)[0], fake_images(1, 1)[0])
    assert len(images_of(fig)) == 3                                       # start, path, end
    path_ax = fig.axes[1]
    assert [t.get_text() for t in path_ax.get_xticklabels()] == ["0", "0.2", "0.4", "0.6", "0.8", "1"]


def test_figures_stay_out_of_pyplot_and_use_large_type():
    before = plt.get_fignums()
    fig = plots.rate_distortion([1.0, 2.0], [3.0, 2.0], [1, 2], highlight=0)
    assert plt.get_fignums() == before          # nothing to close: the figure is not registered with pyplot
    ax = fig.axes[0]
    assert ax.title.get_fontsize() >= 16 and ax.xaxis.label.get_fontsize() >= 14
    fig.canvas.draw()
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 12


def test_remedy_bars_keeps_its_old_call_and_draws_the_given_numbers():
    rows = [{"remedy": r, "kl": 0.5 + i, "kl_se": 0.1, "mi": 0.2 * i, "probe_acc": 0.3 + 0.1 * i, "probe_chance": 0.25}
            for i, r in enumerate(["none", "beta", "freebits"])]
    fig = plots.remedy_bars(rows, metrics=("kl", "mi", "probe_acc"), title="old call")
    assert len(fig.axes) == 3                                      # one row per metric, one column (no variant)
    for ax, key in zip(fig.axes, ("kl", "mi", "probe_acc")):
        (bars,) = [c for c in ax.containers if hasattr(c, "patches")]
        np.testing.assert_allclose([b.get_height() for b in bars.patches], [r[key] for r in rows])
    chance = [ln for ln in fig.axes[2].get_lines() if ln.get_label() == "chance"]
    assert len(chance) == 1 and set(chance[0].get_ydata()) == {0.25}
    # an explicit chance level wins over the rows' own
    fig = plots.remedies_grid(rows, metrics=("probe_acc",), chance=0.5)
    assert {float(y) for ln in fig.axes[0].get_lines() if ln.get_label() == "chance" for y in ln.get_ydata()} == {0.5}
    with pytest.raises(ValueError, match="none of the metrics"):
        plots.remedies_grid(rows, metrics=("ppl",))


def test_summary_bars_draws_each_metric_as_given():
    rows = [{"label": "vae", "iw_nll": 60.2, "iw_nll_se": 0.4, "kl": 0.1, "kl_se": 0.05, "probe_acc": 0.26},
            {"label": "savae", "iw_nll": 59.8, "iw_nll_se": 0.4, "kl": 2.0, "kl_se": 0.1, "probe_acc": 0.4}]
    fig = plots.summary_bars(rows, metrics=("iw_nll", "kl", "probe_acc"), chance=0.25)
    nll, kl, probe = fig.axes
    np.testing.assert_allclose(np.asarray(nll.containers[0].lines[0].get_xdata(), float), [60.2, 59.8])   # points
    (bars,) = [c for c in kl.containers if hasattr(c, "patches")]
    np.testing.assert_allclose([b.get_width() for b in bars.patches], [0.1, 2.0])     # first row drawn on top
    assert [b.get_y() + b.get_height() / 2 for b in bars.patches] == [1, 0]
    assert [t.get_text() for t in nll.get_yticklabels()] == ["vae", "savae"]
    assert any(ln.get_label() == "chance" and set(ln.get_xdata()) == {0.25} for ln in probe.get_lines())
    with pytest.raises(ValueError, match="label='label'"):
        plots.summary_bars([{"name": "x", "kl": 1.0}])
