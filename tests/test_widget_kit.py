"""The widget kit and the latent-space explorers of notebook 06, wired up in plain pytest: set a control's
value, check what was redrawn against what the model itself computes for that code."""

import pytest
import torch
from matplotlib.backend_bases import MouseEvent
from matplotlib.figure import Figure

from helpers import png, shown
from vaelab.data import load_dataset, subset, synthetic_text, vocabulary_of
from vaelab.metrics import prior_codes
from vaelab.models import build_model
from vaelab.widgets import (CompareExplorer, DecodeExplorer, ExamplePicker, LatentSliders, MapExplorer,
                            ModelPicker, NeighbourExplorer, PathExplorer, SampleExplorer, TraversalExplorer)


def image_model(d=2, seed=0):
    torch.manual_seed(seed)
    return build_model("mlp", (1, 8, 8), d, hidden=(16,)).eval()


def decoded(model, z):
    """The decoder's mean at z, straight from the networks (not through vaelab.metrics)."""
    with torch.no_grad():
        return torch.sigmoid(model.decoder(torch.as_tensor(z, dtype=torch.float32).reshape(-1, model.latent_dim)))


def means(model, x):
    with torch.no_grad():
        return model.encoder(x)[0]


@pytest.fixture(scope="module")
def digits():
    return subset(load_dataset("digits", "test"), 40)


@pytest.fixture(scope="module")
def text():
    ds = synthetic_text("test", n=30)
    torch.manual_seed(0)
    return build_model("lstm", ds.meta["shape"], 4, hidden=(16,), vocab_size=ds.meta["vocab_size"]).eval(), ds


def test_decode_sliders_are_the_top_kl_dims_and_decode_their_z(digits):
    model = image_model(d=5)
    w = DecodeExplorer(model, digits, k=3, index=4)
    mu = means(model, digits.x)
    logvar = model.encoder(digits.x)[1].detach()
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).mean(0)
    top = kl.sort(descending=True).values[:4]
    assert bool((top[:-1] - top[1:] > 1e-4 * top[0]).all())      # no near-tie decides the top 3 (measured: 8e-2)
    assert w.sliders.dims == sorted(range(5), key=lambda j: -float(kl[j]))[:3]
    torch.testing.assert_close(w.z, mu[4])                          # starts at the example's code
    before = png(w)
    w.sliders.sliders[0].value = 2.5
    expected_z = mu[4].clone()
    expected_z[w.sliders.dims[0]] = 2.5
    torch.testing.assert_close(w.z, expected_z)
    torch.testing.assert_close(w.last_data, decoded(model, expected_z))
    assert png(w) != before and w.draws == 2
    w.picker.value = 7                                               # another example: back to its code
    torch.testing.assert_close(w.z, mu[7])
    torch.testing.assert_close(w.last_data, decoded(model, mu[7]))


def test_an_error_in_a_callback_lands_in_the_output(digits, monkeypatch):
    model = image_model()
    w = DecodeExplorer(model, digits, k=2)
    good = w.last_data.clone()

    def broken(z):
        raise RuntimeError("decoder broke on purpose")

    monkeypatch.setattr(model, "decode", broken)
    w.sliders.sliders[1].value = 1.0                                 # no exception escapes
    err = shown(w)
    assert err["output_type"] == "error" and "broke on purpose" in err["evalue"]
    assert torch.equal(w.last_data, good)
    monkeypatch.undo()
    w.sliders.sliders[1].value = -1.0
    assert w.last_error is None and png(w)


def test_text_decode_shows_the_greedy_sentence(text):
    model, ds = text
    w = DecodeExplorer(model, ds, k=2, index=3)
    vocab = vocabulary_of(ds)
    w.sliders.sliders[0].value = -2.0
    assert w.last_data == [vocab.decode(model.decoder.mean(w.z[None])[0])]
    assert "topic" in w.picker.label.value and vocab.decode(ds.x[3]) in w.picker.label.value


def test_map_sliders_and_the_example_picker_move_the_decoded_point(digits):
    model = image_model(d=2)
    w = MapExplorer(model, digits, index=2, selected=(1, 5))
    mu = means(model, digits.x)
    assert w.map["method"] == "identity"
    torch.testing.assert_close(w.last_data["z"], mu[2])              # starts on the example
    w.u.value = 0.25
    torch.testing.assert_close(w.last_data["z"], torch.tensor([0.25, w.v.value]))
    torch.testing.assert_close(w.last_data["items"], decoded(model, w.last_data["z"]))
    assert len(w.ellipses()) == 2
    torch.testing.assert_close(w.ellipses()[1][1], torch.diag(model.encoder(digits.x[5:6])[1][0].detach().exp()))
    w.selected.value = "1, x"                                        # bad input: shown, not raised
    assert shown(w)["output_type"] == "error" and "indices" in shown(w)["evalue"]
    w.selected.value = "3"
    assert w.last_error is None and len(w.ellipses()) == 1


def test_pca_map_decodes_the_code_in_the_mapped_plane_and_tsne_the_nearest_example(digits):
    model = image_model(d=4)
    w = MapExplorer(model, digits, index=0)
    assert w.map["method"] == "pca"
    w.goto(0.3, -0.2)
    z = w.last_data["z"]
    mu = means(model, digits.x)
    c, m = w.map["projection"]["components"], mu.mean(0)
    torch.testing.assert_close((z - m) @ c.T, torch.tensor([0.3, -0.2]), atol=1e-5, rtol=0)
    torch.testing.assert_close(w.last_data["items"], decoded(model, z))
    w.method.value = "tsne"
    pts = w.map["points"]
    w.goto(float(pts[9, 0]), float(pts[9, 1]))
    torch.testing.assert_close(w.last_data["z"], mu[9])
    assert w.ellipses() == []


def test_click_to_decode_handler(digits):
    model = image_model(d=2)
    w = MapExplorer(model, digits)
    fig = w.enable_clicks(Figure())                                  # Agg canvas: no ipympl needed
    ax = fig.axes[0]
    fig.canvas.draw()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    target = (x0 + 0.3 * (x1 - x0), y0 + 0.8 * (y1 - y0))           # a point inside the drawn map
    px, py = ax.transData.transform(target)
    fig.canvas.callbacks.process("button_press_event", MouseEvent("button_press_event", fig.canvas, px, py, 1))
    torch.testing.assert_close(w.last_data["z"], torch.tensor(target, dtype=torch.float32), atol=1e-4, rtol=0)
    torch.testing.assert_close(w.last_data["items"], decoded(model, w.last_data["z"]))


def test_click_to_decode_through_a_live_ipympl_canvas(digits):
    """The path a browser click takes: the front-end's JSON message -> ipympl's Canvas -> matplotlib's
    MouseEvent -> the explorer's handler. Messages are what jupyter-matplotlib sends (y from the top, button 0)."""
    model = image_model(d=2)
    w = MapExplorer(model, digits)
    fig = w.enable_clicks()
    canvas = fig.canvas
    assert type(canvas).__module__.startswith("ipympl") and canvas in w.ui.children   # shown in the explorer
    ax = fig.axes[0]
    canvas.draw()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    target = (x0 + 0.7 * (x1 - x0), y0 + 0.25 * (y1 - y0))
    px, py = ax.transData.transform(target)
    height = canvas.get_renderer().height
    canvas._handle_message(canvas, {"type": "button_press", "x": px, "y": height - py, "button": 0, "buttons": 1,
                                    "modifiers": [], "guiEvent": None}, [])
    torch.testing.assert_close(w.last_data["z"], torch.tensor(target, dtype=torch.float32), atol=1e-4, rtol=0)
    torch.testing.assert_close(w.last_data["items"], decoded(model, w.last_data["z"]))
    assert (w.u.value, w.v.value) == pytest.approx(target, abs=1e-4)             # the sliders follow the click
    outside = {"type": "button_press", "x": 1, "y": 1, "button": 0, "buttons": 1, "modifiers": [], "guiEvent": None}
    before = w.last_data["z"].clone()
    canvas._handle_message(canvas, outside, [])                                   # off the axes: nothing moves
    torch.testing.assert_close(w.last_data["z"], before)
    # a new model: the live map is redrawn from its codes, and a click decodes with the new decoder
    other = image_model(d=2, seed=1)
    w.set_model(other, digits)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    drawn = torch.tensor(ax.collections[0].get_offsets().data, dtype=torch.float32)
    torch.testing.assert_close(drawn, means(other, digits.x), atol=1e-5, rtol=0)
    canvas.draw()
    px, py = ax.transData.transform(target)
    canvas._handle_message(canvas, {"type": "button_press", "x": px, "y": height - py, "button": 0, "buttons": 1,
                                    "modifiers": [], "guiEvent": None}, [])
    torch.testing.assert_close(w.last_data["items"], decoded(other, torch.tensor([target], dtype=torch.float32)))


def test_traversal_path_neighbours_and_samples(digits):
    model = image_model(d=3)
    mu = means(model, digits.x)
    t = TraversalExplorer(model, digits, k=2, span=2.0, steps=3, index=1)
    z = mu[1].repeat(6, 1)
    for r, j in enumerate(t.dims):
        z[3 * r:3 * r + 3, j] = torch.tensor([-2.0, 0.0, 2.0])
    torch.testing.assert_close(t.last_data, decoded(model, z))
    t.k.value = 3
    assert t.last_data.shape[0] == 9

    p = PathExplorer(model, digits, a=0, b=6, steps=4)
    for m in ("linear", "spherical"):
        torch.testing.assert_close(p.paths[m][[0, -1]], mu[[0, 6]])
    torch.testing.assert_close(p.paths["linear"][1], mu[0] + (mu[6] - mu[0]) / 3)
    assert not torch.allclose(p.paths["linear"], p.paths["spherical"])
    p.b.value = 3
    torch.testing.assert_close(p.paths["linear"][-1], mu[3])

    n = NeighbourExplorer(model, digits, index=5, k=4)
    brute = sorted(range(40), key=lambda j: float((mu[j] - mu[5]).norm()) if j != 5 else float("inf"))[:4]
    near = sorted(float((mu[j] - mu[5]).norm()) for j in range(40) if j != 5)[:5]
    assert min(b - a for a, b in zip(near, near[1:])) > 1e-4 * near[-1]   # no near-tie in the 4 (measured: 1e-2)
    assert n.last_data[0].tolist() == brute

    s = SampleExplorer(model, digits, n=6, seed=0)
    torch.testing.assert_close(s.last_data, decoded(model, prior_codes(6, 3, 0)))
    s.button.click()
    torch.testing.assert_close(s.last_data, decoded(model, prior_codes(6, 3, 1)))


def test_compare_maps_and_text_paths(digits, text):
    a, b = image_model(d=2, seed=0), image_model(d=2, seed=1)
    c = CompareExplorer({"A": (a, digits), "B": (b, digits)})
    torch.testing.assert_close(c.last_data["A"], means(a, digits.x))
    torch.testing.assert_close(c.last_data["B"], means(b, digits.x))
    c.right.value = "A"
    torch.testing.assert_close(c.last_data["A"], means(a, digits.x))
    model, ds = text
    c = CompareExplorer({"one": (model, ds), "two": (model, ds)}, view="path", steps=3)
    assert len(c.last_data["one"]) == 3 and all(isinstance(s, str) for s in c.last_data["one"])
    with pytest.raises(ValueError, match="at least two"):
        CompareExplorer({"A": (a, digits)})


def test_model_picker_loads_links_and_shows_failures(digits):
    calls = []

    def load(name, quick=None, device=None):
        calls.append(name)
        if name == "broken":
            raise FileNotFoundError("no checkpoint for broken")
        return image_model(d=int(name[-1])), []

    def data(name, n=None, quick=None):
        return digits

    picker = ModelPicker(names=["m2", "m3", "broken"], load=load, test_data=data)
    assert picker.model.latent_dim == 2 and "m2" in picker.status.value
    explorer = DecodeExplorer(picker.model, picker.data, k=4)
    picker.link(explorer)
    picker.dropdown.value = "m3"
    assert calls == ["m2"]                                           # choosing does not load (it may train)
    picker.button.click()
    assert explorer.model is picker.model and len(explorer.sliders.sliders) == 3 and explorer.draws >= 2
    picker.dropdown.value = "broken"
    assert picker.load() is False                                    # shown, not raised
    (err,) = picker.errors.outputs
    assert err["ename"] == "FileNotFoundError" and "could not load" in picker.status.value
    assert explorer.model.latent_dim == 3                            # the last good model stays
    with pytest.raises(ValueError, match="not one of the models"):
        ModelPicker(names=["m2"], value="m9", load=load, test_data=data)


def test_model_picker_displays_a_static_status_line(digits):
    picker = ModelPicker(names=["m2", "m3"], load=lambda name, quick=None, device=None: (image_model(d=3), []),
                         test_data=lambda name, n=None, quick=None: digits)
    bundle = picker._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle      # live in JupyterLab
    # a static page (no kernel) shows which model the cells below use, not "VBox(children=...)"
    assert "m2" in bundle["text/html"] and "latent_dim 3" in bundle["text/html"]
    assert f"{len(digits.x)} test examples" in bundle["text/html"]


def test_kit_controls_check_their_arguments(digits):
    with pytest.raises(ValueError, match="dims"):
        LatentSliders(3, [3])
    with pytest.raises(ValueError, match="index=40"):
        ExamplePicker(digits, 40)
    s = LatentSliders(3, [2, 0], z_range=2.0, base=[1.0, 1.0, 1.0])
    s.sliders[0].value = -1.5
    assert s.z.tolist() == [1.0, 1.0, -1.5]
    s.set_z([5.0, 0.0, 0.5])
    assert [x.value for x in s.sliders] == [0.5, 2.0]                # clipped to the range
    with pytest.raises(ValueError, match="method="):
        MapExplorer(image_model(), digits, method="umap")
