"""fit(compile=True) (vaelab.train.compiled): the compiled step trains the same model as the eager one.

Ground truth: with Inductor told to draw its noise as eager torch does (fallback_random), the compiled training
must follow the eager one step for step, up to float rounding; with the deterministic objective 'lm' the compiled
loss and gradients equal autograd's. Every compilation costs seconds, so all tests share one tiny architecture.
"""
from __future__ import annotations

import copy

import pytest
import torch

import vaelab
from vaelab.models import build_model
from vaelab.train import build_objective
from vaelab.train.compiled import compiled_loss

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")     # torch's own, from inside Inductor


@pytest.fixture(scope="module")
def data():
    gen = torch.Generator().manual_seed(0)
    return torch.bernoulli(torch.full((96, 12), 0.3), generator=gen)


def _model():
    torch.manual_seed(0)
    return build_model("mlp", (12,), 3, [16])


def _fit(model, data, compile, **kw):
    return vaelab.fit(model, data, "elbo", epochs=2, batch_size=32, seed=3, progress=False, collapse_warning=False,
                      compile=compile, **kw)


def test_same_training_as_eager_when_the_noise_is_drawn_alike(data):
    import torch._inductor.config as inductor
    eager, compiled = _model(), _model()
    h_eager = _fit(eager, data, False, kl_warmup=1.0)             # the warm-up feeds a new KL weight every step
    torch.compiler.reset()                      # compiled code is cached per function, not per Inductor setting
    try:
        with inductor.patch(fallback_random=True):
            h_comp = _fit(compiled, data, True, kl_warmup=1.0)
    finally:
        torch.compiler.reset()
    for a, b in zip(h_eager, h_comp):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["kl_weight"] == b["kl_weight"]
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5, msg=name)
    changed = max(float((p - q).detach().abs().max()) for p, q in zip(_model().parameters(), eager.parameters()))
    assert changed > 1e-3                                          # training moved the weights: not a vacuous match


def test_one_seed_gives_one_result(data):
    a, b = _model(), _model()
    _fit(a, data, True)
    _fit(b, data, True)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_compiled_loss_and_gradients_equal_autograd(data):
    model = _model()
    objective = build_objective("lm")                              # z = 0: no noise, so the two must agree
    loss, _ = objective(model, data)
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    twin = copy.deepcopy(model)
    c_loss, _ = compiled_loss(objective, torch.device("cpu"))(twin, data, kl_weight=torch.ones(()))
    c_grads = torch.autograd.grad(c_loss, list(twin.parameters()), allow_unused=True)
    assert float(c_loss) == pytest.approx(float(loss), rel=1e-6)
    for g, h in zip(grads, c_grads):
        if g is None:
            assert h is None or float(h.abs().max()) == 0.0
        else:
            torch.testing.assert_close(h, g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("objective, says", [("savae", "runs autograd inside its loss"),
                                             ("sri", "runs autograd inside its loss"),
                                             ("aggressive", "encoder-first")])
def test_objectives_that_cannot_compile_are_refused(data, objective, says):
    with pytest.raises(ValueError, match=says) as err:
        vaelab.fit(_model(), data, objective, epochs=1, batch_size=32, compile=True, progress=False)
    assert f"objective={objective!r}" in str(err.value) and "compile=False" in str(err.value)


def test_compile_must_be_a_bool(data):
    with pytest.raises(TypeError, match="compile must be True or False, got 'yes'"):
        vaelab.fit(_model(), data, epochs=1, compile="yes", progress=False)


def test_a_cpu_without_a_cxx_compiler_is_told_so(data, monkeypatch):
    import vaelab.train.compiled as compiled
    monkeypatch.setattr(compiled.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="needs a C\\+\\+ compiler on PATH"):
        vaelab.fit(_model(), data, epochs=1, compile=True, progress=False)


def test_a_gpu_step_replays_as_a_cuda_graph(monkeypatch):
    import vaelab.train.compiled as compiled
    seen = {}
    monkeypatch.setattr(compiled.torch, "compile", lambda fn, **kw: seen.update(kw) or fn)
    compiled_loss(build_objective("elbo"), torch.device("cuda"))          # no GPU needed: only the choice is tested
    assert seen == {"mode": "reduce-overhead", "dynamic": False}
    compiled_loss(build_objective("elbo"), torch.device("cpu"))
    assert seen == {"mode": None, "dynamic": False}
