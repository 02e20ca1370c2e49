"""The posterior explorer's wiring, in plain pytest: changing a control redraws different data."""
import pytest
import torch

import vaelab
from vaelab.models import build_model
from vaelab.widgets import PosteriorExplorer


@pytest.fixture(scope="module")
def model_and_data():
    ds = vaelab.data.subset(vaelab.load_dataset("digits", "test", binarize="static"), 5)
    torch.manual_seed(0)
    model = build_model("mlp", ds.meta["shape"], 2, hidden=(32,))
    vaelab.fit(model, ds, epochs=2, progress=False)
    return model, ds


def test_steps_slider_moves_along_the_refinement_path(model_and_data):
    model, ds = model_and_data
    w = PosteriorExplorer(model, ds, index=0, steps=0, max_steps=20, lr=0.1)
    assert w.draws == 1 and w.last_error is None and w.figure is not None
    png0 = w.output.outputs[0]["data"]["image/png"]
    w.steps.value = 20
    assert w.draws == 2
    pic = w.last_data
    assert not torch.allclose(pic["mu"][0], pic["mu"][20])                   # the path really moves
    assert w.output.outputs[0]["data"]["image/png"] != png0                  # and the picture shows it
    refined_titles = [t.get_text() for ax in w.figure.axes for t in ax.get_legend().get_texts()] \
        if w.figure.axes[0].get_legend() else []
    assert any("q* (diagonal)" in t for t in refined_titles)                 # steps == max_steps: labelled q*


def test_example_picker_redraws_another_posterior(model_and_data):
    model, ds = model_and_data
    w = PosteriorExplorer(model, ds, index=0, steps=5, max_steps=10)
    first = w.last_data["grid"]["log_joint"].clone()
    w.index.value = 3
    assert not torch.allclose(first, w.last_data["grid"]["log_joint"])


def test_bad_arguments_are_clear_errors(model_and_data):
    model, ds = model_and_data
    with pytest.raises(ValueError, match="index=9 is not an example index; use 0 .. 4"):
        PosteriorExplorer(model, ds, index=9)
    with pytest.raises(ValueError, match="steps=30 must be <= max_steps=10"):
        PosteriorExplorer(model, ds, steps=30, max_steps=10)
    with pytest.raises(ValueError, match="latent_dim=2, got latent_dim=3"):
        PosteriorExplorer(build_model("mlp", ds.meta["shape"], 3, hidden=(8,)), ds)
