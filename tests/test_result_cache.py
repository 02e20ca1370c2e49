"""vaelab.memo: a result is computed once per (function, inputs, code), never served stale, and bad input is named."""
import warnings

import pytest
import torch

import vaelab
from vaelab import metrics
from vaelab.train import result_cache as memo_mod


class Counter:
    """A deterministic function that counts its calls."""

    def __init__(self):
        self.calls = 0
        self.__qualname__ = "Counter"

    def __call__(self, model, x, *, scale=1.0):
        self.calls += 1
        with torch.no_grad():
            return {"out": model(x) * scale, "n": int(x.shape[0]), "tag": "ok", "parts": [1.5, None]}


@pytest.fixture
def setup():
    torch.manual_seed(0)
    return Counter(), torch.nn.Linear(3, 2), torch.randn(4, 3)


def test_second_call_loads_the_same_result_without_computing(setup):
    fn, model, x = setup
    a = vaelab.memo(fn, model, x, scale=2.0)
    b = vaelab.memo(fn, model, x, scale=2.0)
    assert fn.calls == 1
    assert torch.equal(a["out"], b["out"]) and a["n"] == b["n"] == 4 and b["parts"] == [1.5, None]
    assert len(list((vaelab.runtime.cache_dir() / "results").glob("Counter-*.pt"))) == 1


def test_any_change_in_the_inputs_recomputes(setup):
    fn, model, x = setup
    vaelab.memo(fn, model, x, scale=2.0)
    vaelab.memo(fn, model, x, scale=3.0)                       # another argument
    assert fn.calls == 2
    x2 = x.clone()
    x2[0, 0] += 1e-6                                            # another input, by one float
    vaelab.memo(fn, model, x2, scale=2.0)
    assert fn.calls == 3
    with torch.no_grad():
        model.bias[0] += 1e-6                                   # a retrained model, by one float
    out = vaelab.memo(fn, model, x, scale=2.0)
    assert fn.calls == 4
    assert torch.allclose(out["out"], fn(model, x, scale=2.0)["out"])
    assert memo_mod.memo_key(fn, (model, x), {}) != memo_mod.memo_key(fn, (model, x.double()), {})   # dtype


def test_a_code_change_recomputes(setup, monkeypatch):
    fn, model, x = setup
    vaelab.memo(fn, model, x)
    monkeypatch.setattr(memo_mod, "code_fingerprint", lambda: "edited vaelab source")
    vaelab.memo(fn, model, x)
    assert fn.calls == 2


def test_code_fingerprint_covers_the_package_source():
    # the real fingerprint: hex SHA-256, stable within a process
    assert memo_mod.code_fingerprint() == memo_mod.code_fingerprint() and len(memo_mod.code_fingerprint()) == 64


def test_fingerprints_every_dtype_and_shape():
    key = memo_mod.memo_key(len, (torch.tensor(1.0), torch.zeros(0), torch.ones(2, dtype=torch.bfloat16),
                                  torch.arange(3), torch.device("cpu"), torch.float32, {"b": (1, 2)}), {})
    assert len(key) == 64
    assert memo_mod.memo_key(len, (torch.zeros(2, 3),), {}) != memo_mod.memo_key(len, (torch.zeros(3, 2),), {})


def test_corrupt_entry_is_recomputed_with_a_warning(setup):
    fn, model, x = setup
    vaelab.memo(fn, model, x)
    path = memo_mod.memo_path(fn, (model, x), {})
    path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="unreadable"):
        out = vaelab.memo(fn, model, x)
    assert fn.calls == 2 and out["tag"] == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vaelab.memo(fn, model, x)                               # rewritten: loads cleanly
    assert fn.calls == 2


def test_bad_input_is_named(setup):
    fn, model, x = setup
    with pytest.raises(TypeError, match="argument 'scale' of type object"):
        vaelab.memo(fn, model, x, scale=object())
    with pytest.raises(TypeError, match=r"result\['v'\] is a set"):
        vaelab.memo(lambda: {"v": {1}})
    with pytest.raises(TypeError, match="fn must be callable"):
        vaelab.memo(3, x)


def test_inference_gaps_through_memo_equals_the_direct_call():
    torch.manual_seed(0)
    model = vaelab.build_model("mlp", (64,), 2, [16])
    x = torch.bernoulli(torch.full((5, 64), 0.3))
    kw = dict(iw_samples=20, steps=5, elbo_samples=5, seed=3)
    direct = metrics.inference_gaps(model, x, **kw)
    first = vaelab.memo(metrics.inference_gaps, model, x, **kw)
    again = vaelab.memo(metrics.inference_gaps, model, x, **kw)
    for got in (first, again):
        assert got["amortization_gap"] == direct["amortization_gap"]
        assert all(torch.equal(got["per_example"][k], v) for k, v in direct["per_example"].items())
