"""Widget wiring without a kernel: set a control's value, check what was redrawn and what it shows."""
import base64

import pytest
import torch

from vaelab import load_dataset
from vaelab.metrics.latent_paths import decode_mean, interpolate, lerp, slerp
from vaelab.models import build_model
from vaelab.widgets import (BetaSweepExplorer, ClickCounterDemo, beta_sweep_explorer, decoder_explorer,
                            interpolation_explorer)

SHAPE = (1, 8, 8)


def tiny_model(latent_dim=2, seed=0):
    """Untrained, but its decoder output still depends on z, which is all the wiring needs."""
    torch.manual_seed(seed)
    return build_model("mlp", SHAPE, latent_dim, hidden=(16,)).eval()


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "test")


def shown_png(w) -> bytes:
    (out,) = w.output.outputs
    assert out["output_type"] == "display_data", out
    return base64.b64decode(out["data"]["image/png"])


def shown_error(w) -> dict:
    (out,) = w.output.outputs
    assert out["output_type"] == "error", out
    return out


def test_click_counter_counts_and_shows_the_next_image(digits):
    demo = ClickCounterDemo(digits.x, digits.y)
    assert demo.count == 0 and torch.equal(demo.last_data, digits.x[:1])
    first_png = shown_png(demo)
    demo.button.click()
    assert demo.count == 1 and "<b>1</b>" in demo.counter.value
    assert torch.equal(demo.last_data, digits.x[1:2])
    assert shown_png(demo) != first_png


def test_decoder_explorer_redraws_the_decoded_z():
    model = tiny_model()
    ex = decoder_explorer(model, z_range=3.0)
    assert ex.draws == 1 and ex.figure is not None              # default view drawn at construction
    before, before_png = ex.last_data.clone(), shown_png(ex)
    ex.sliders[0].value = 2.0
    assert ex.draws == 2
    assert not torch.allclose(ex.last_data, before)
    with torch.no_grad():
        expected = torch.sigmoid(model.decoder(torch.tensor([[2.0, 0.0]])))
    torch.testing.assert_close(ex.last_data, expected)
    assert shown_png(ex) != before_png


def test_decoder_explorer_set_z_moves_all_sliders_with_one_redraw():
    ex = decoder_explorer(tiny_model(latent_dim=3))
    ex.set_z([1.0, -1.0, 9.0])
    assert ex.draws == 2
    assert [s.value for s in ex.sliders] == [1.0, -1.0, 3.0]   # clipped to the slider range
    ex.sample_button.click()
    assert ex.draws == 3 and not torch.equal(ex.z, torch.tensor([1.0, -1.0, 3.0]))
    with pytest.raises(ValueError, match="3 entries"):
        ex.set_z([0.0, 0.0])


def test_decoder_explorer_with_a_map_marks_z(digits):
    model = tiny_model()
    ex = decoder_explorer(model, background=torch.randn(30, 2), labels=digits.y[:30])
    ex.sliders[1].value = -1.5
    cross = [ln for ln in ex.figure.axes[0].get_lines() if ln.get_marker() == "X"][0]
    assert (cross.get_xdata()[0], cross.get_ydata()[0]) == (0.0, -1.5)


def test_an_error_in_a_callback_is_shown_in_the_output(monkeypatch):
    model = tiny_model()
    ex = decoder_explorer(model)
    good = ex.last_data.clone()

    def broken(z):
        raise RuntimeError("decoder exploded on purpose")

    monkeypatch.setattr(model, "decode", broken)
    ex.sliders[0].value = 1.0                                  # no exception escapes the callback...
    err = shown_error(ex)                                      # ...it is shown instead
    assert err["ename"] == "RuntimeError" and "exploded on purpose" in err["evalue"]
    assert any("exploded on purpose" in line for line in err["traceback"])
    assert isinstance(ex.last_error, RuntimeError)
    assert torch.equal(ex.last_data, good)                     # the last good view is kept
    static = ex._repr_mimebundle_()                            # a static page shows the error, not a stale figure
    assert "image/png" not in static and "RuntimeError: decoder exploded on purpose" in static["text/plain"]
    monkeypatch.undo()
    ex.sliders[0].value = -1.0
    assert ex.last_error is None and shown_png(ex)


def fake_sweep(betas=(0.1, 1.0, 4.0)):
    # Different weights per beta; rate/distortion numbers are only drawn, not checked by the widget.
    return [{"beta": b, "model": tiny_model(latent_dim=2, seed=i), "rate": 10.0 / (1 + i), "distortion": 20.0 + i}
            for i, b in enumerate(betas)]


def test_beta_sweep_explorer_selects_a_precomputed_model(digits):
    results = fake_sweep()
    ex = beta_sweep_explorer(results, digits.x, n_show=5)
    assert ex.selected["beta"] == 1.0                          # defaults to the ELBO's beta
    first = ex.last_data.clone()
    assert first.shape == (5, *SHAPE)
    ex.slider.value = 2                                        # index of beta = 4
    assert ex.selected["beta"] == 4.0 and ex.draws == 2
    torch.testing.assert_close(ex.last_data, results[2]["model"].reconstruct(digits.x[:5]))
    assert not torch.allclose(ex.last_data, first)
    marked = [ln for ax in ex.figure.axes for ln in ax.get_lines() if ln.get_markersize() >= 20]
    assert [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in marked] == [(results[2]["rate"], results[2]["distortion"])]


def test_beta_sweep_explorer_rejects_bad_results(digits):
    with pytest.raises(ValueError, match="empty"):
        BetaSweepExplorer([], digits.x)
    with pytest.raises(ValueError, match="missing"):
        BetaSweepExplorer([{"beta": 1.0}], digits.x)
    with pytest.raises(ValueError, match="not in the sweep"):
        BetaSweepExplorer(fake_sweep(), digits.x, beta=2.0)


def test_interpolation_explorer_follows_the_pickers(digits):
    model = tiny_model()
    ex = interpolation_explorer(model, digits, a=0, b=1, steps=5)
    assert ex.last_data.shape == (5, *SHAPE)
    with torch.no_grad():
        z_a = model.encode(digits.x[3:4]).mu
        start = torch.sigmoid(model.decoder(z_a))
    ex.a.value = 3
    torch.testing.assert_close(ex.last_data[:1], start)        # the path starts at example 3's code
    ex.steps.value = 9
    assert ex.last_data.shape == (9, *SHAPE) and ex.draws == 3
    linear = ex.path["z"].clone()
    ex.method.value = "spherical"
    assert not torch.allclose(ex.path["z"], linear)
    torch.testing.assert_close(ex.path["z"][[0, -1]], linear[[0, -1]])   # same ends, different route
    with pytest.raises(ValueError, match="0 .. 299"):
        interpolation_explorer(model, digits, a=300)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_html(bundle: dict, widget_state: dict | None = None) -> str:
    """What `jupyter nbconvert --to html` makes of a notebook whose one cell displayed `bundle`."""
    import nbformat
    from nbconvert import HTMLExporter

    out = nbformat.v4.new_output("display_data", data=bundle)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("explorer", outputs=[out])])
    if widget_state is not None:
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "state": widget_state, "version_major": 2, "version_minor": 0}}
    return HTMLExporter().from_notebook_node(nb)[0]


def test_widgets_display_live_and_static(digits):
    ex = decoder_explorer(tiny_model())
    bundle = ex._repr_mimebundle_()
    assert WIDGET_VIEW in bundle                                            # one output: live in JupyterLab
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")   # what GitHub/nbconvert show


def test_a_static_html_export_shows_the_figure_on_show():
    ex = decoder_explorer(tiny_model())
    ex.sliders[0].value = 2.0
    bundle = ex._repr_mimebundle_()
    assert bundle["image/png"] == ex.output.outputs[0]["data"]["image/png"]   # the current view, not the first
    page = static_html(bundle)
    assert f'src="data:image/png;base64,{bundle["image/png"]}"' in page
    assert WIDGET_VIEW not in page
    # With the widget's saved state in the notebook, nbconvert renders the view instead (JavaScript from a CDN,
    # blank offline) and drops the picture: why static exports (tests/export_check.py, book/build.py) carry none.
    state = {bundle[WIDGET_VIEW]["model_id"]: {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls",
                                               "model_module_version": "2.0.0", "state": {}}}
    assert bundle["image/png"] not in static_html(bundle, state)


# The maths these widgets call lives in vaelab.metrics.latent_paths; checked here against geometry.

def test_lerp_is_evenly_spaced_on_the_segment():
    z0, z1 = torch.tensor([1.0, -2.0, 0.0]), torch.tensor([3.0, 2.0, 1.0])
    p = lerp(z0, z1, 5)
    assert p.shape == (5, 3)
    torch.testing.assert_close(p[2], (z0 + z1) / 2)
    steps = p[1:] - p[:-1]
    torch.testing.assert_close(steps, (z1 - z0).expand(4, 3) / 4)


def test_slerp_turns_at_constant_speed_and_scales_the_norm_linearly():
    z0, z1 = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 4.0])            # 90 degrees apart
    p = slerp(z0, z1, 7)
    torch.testing.assert_close(p[[0, -1]], torch.stack([z0, z1]))
    angles = torch.atan2(p[:, 1], p[:, 0])
    torch.testing.assert_close(angles, torch.linspace(0, torch.pi / 2, 7))
    torch.testing.assert_close(p.norm(dim=1), torch.linspace(2.0, 4.0, 7))
    # parallel endpoints: the great circle is undefined, so the straight line is used
    torch.testing.assert_close(slerp(z0, 3 * z0, 4), lerp(z0, 3 * z0, 4))


def test_path_and_decode_inputs_are_checked():
    with pytest.raises(ValueError, match="method"):
        interpolate(torch.zeros(2), torch.ones(2), 3, method="cubic")
    with pytest.raises(ValueError, match="steps"):
        lerp(torch.zeros(2), torch.ones(2), 1)
    with pytest.raises(ValueError, match="one shape"):
        lerp(torch.zeros(2), torch.ones(3), 4)
    with pytest.raises(ValueError, match=r"\(2,\) or \(N, 2\)"):
        decode_mean(tiny_model(latent_dim=2), torch.zeros(3))
