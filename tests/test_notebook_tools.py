"""Student versions, jupytext pairs and Colab cells (scripts/notebooks.py) stay current and work."""
import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notebooks as tools  # noqa: E402



def test_generated_files_are_current_and_sources_clean(capsys):
    assert tools.check() == 0, capsys.readouterr().err


def test_strip_solutions_keeps_indentation_and_surrounding_lines():
    src = "def f(x):\n    # YOUR TURN\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n\nf(1)\n"
    out = tools.strip_solutions(src, "t")
    assert "return x + 1" not in out and "# YOUR TURN" in out and out.endswith("\nf(1)\n")
    assert '    raise NotImplementedError("exercise: your turn")\n' in out and "# TODO: your turn" in out
    ns = {}
    exec(out.replace("f(1)\n", ""), ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


@pytest.mark.parametrize("src, match", [
    ("x = 1\n", "no '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "inside the exercise function"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without a BEGIN"),
])
def test_malformed_solution_markers_are_errors(src, match):
    with pytest.raises(ValueError, match=match):
        tools.strip_solutions(src, "cell")


def test_colab_cell_is_inert_outside_colab():
    ns = {"get_ipython": lambda: pytest.fail("must not call pip outside Colab")}
    exec(tools.COLAB_CELL, ns)


# --- the student version runs to its end: an unfilled stub falls back on the reference, and says so ----------------

EXERCISE_CELL = """def my_double(x):
    # YOUR TURN: return twice x.
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION

mine = checks.yours_or_reference(my_double, reference, 21)
"""


def _run_cell(source, reference):
    from vaelab import checks

    ns = {"checks": checks, "reference": reference}
    exec(source, ns)
    return ns


def test_an_unfilled_stub_runs_on_the_reference_and_says_so(capsys):
    from vaelab import checks

    calls = []
    def reference(x):                                     # a different answer, so that the test sees which one ran
        calls.append(x)
        return -1000 + x
    ns = _run_cell(tools.strip_solutions(EXERCISE_CELL, "t"), reference)
    assert ns["mine"] == -979 and calls == [21], "the stub's cell must carry on with the reference's value"
    out = capsys.readouterr().out
    assert "your `my_double` is not written yet: the cells below use the reference" in out
    assert out.count("not written yet") == 1
    assert ns["my_double"].uses_reference is True
    checks.passed(ns["my_double"], "Exercise passed.")
    out = capsys.readouterr().out
    assert "not checked yet" in out and "Exercise passed." not in out
    # a second call of the same stub (a self-check cell) stays quiet but still uses the reference
    assert checks.yours_or_reference(ns["my_double"], reference, 1) == -999
    assert capsys.readouterr().out == ""


def test_a_written_exercise_is_used_not_the_reference(capsys):
    from vaelab import checks

    ns = _run_cell(EXERCISE_CELL, lambda x: pytest.fail("the reference must not run when the exercise is written"))
    assert ns["mine"] == 42
    assert "not written yet" not in capsys.readouterr().out
    checks.passed(ns["my_double"], "Exercise passed.")
    assert capsys.readouterr().out == "Exercise passed.\n"


def test_a_bug_in_the_students_code_is_not_hidden_by_the_reference():
    from vaelab import checks

    def my_broken(x):
        return x + "1"
    with pytest.raises(TypeError):
        checks.yours_or_reference(my_broken, lambda x: x, 1)


@pytest.mark.parametrize("diff, se, expected", [(1.0, 0.1, "higher"), (-1.0, 0.1, "lower"), (0.2, 0.1, "about the same"),
                                                (0.05, 0.001, "about the same")])
def test_direction_needs_three_standard_errors_and_a_size_that_matters(diff, se, expected):
    from vaelab.checks import direction

    assert direction(diff, se, negligible=0.1) == expected


def test_check_prediction_answers_every_guess_without_failing(capsys):
    from vaelab.checks import check_prediction

    explain = {"higher": "look at kl.", "lower": "-", "about the same": "-"}
    said = {}
    for guess in (" Higher ", "lower", "", "bigger"):
        check_prediction(guess, "higher", explain)
        said[guess] = capsys.readouterr().out
    assert all(out.rstrip().endswith("look at kl.") for out in said.values())
    assert "matches" in said[" Higher "] and "measurement says 'higher'" in said["lower"]
    assert "did not write a guess" in said[""] and "'bigger' is not one of" in said["bigger"]
    with pytest.raises(ValueError, match="outcome"):
        check_prediction("higher", "sideways", explain)


def _solution_functions(nb):
    """The exercise functions of a notebook: those whose body holds a BEGIN SOLUTION block."""
    names = []
    for c in nb.cells:
        if "solution" in c.get("metadata", {}).get("tags", []):
            names += [f.name for f in ast.parse(c.source).body if isinstance(f, ast.FunctionDef)
                      and "# BEGIN SOLUTION" in ast.get_source_segment(c.source, f)]
    return names


@pytest.mark.parametrize("path", tools.sources(), ids=[p.stem for p in tools.sources()])
def test_exercise_functions_are_only_called_through_the_fallback(path):
    """A direct call my_fn(...) of an exercise function would stop 'Run All' of the student version at its stub."""
    nb = nbformat.read(path, as_version=4)
    names = _solution_functions(nb)
    n_solution_cells = sum("solution" in c.get("metadata", {}).get("tags", []) for c in nb.cells)
    assert len(names) >= n_solution_cells, f"{path.name}: a solution cell without an exercise function: {names}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in names:
        direct = [m.start() for m in re.finditer(rf"(?<![\w.])(?<!def ){name}\(", code)]
        assert not direct, f"{path.name}: `{name}(...)` is called directly; call it as checks.yours_or_reference({name}, ...)"
        assert f"yours_or_reference({name}," in code, f"{path.name}: `{name}` is never run through yours_or_reference"
        assert f"checks.passed({name}," in code, f"{path.name}: the self-check of `{name}` should end with checks.passed"


def test_student_version_links_back_and_opens_itself_in_colab():
    path = ROOT / "notebooks" / "01_elbo_and_latent_space.ipynb"
    nb = nbformat.read(path, as_version=4)
    intro = next(c for c in nb.cells if c.cell_type == "markdown").source
    assert "[NOTATION.md](NOTATION.md)" in intro and f"(exercises/{path.name})" in intro
    ex = tools.exercise_version(nb, path.name)
    text = "\n".join(c.source for c in ex.cells if c.cell_type == "markdown")
    assert f"(../{path.name})" in text and "(../NOTATION.md)" in text and "(exercises/" not in text
    assert f"notebooks/exercises/{path.name}" in text
    assert "NotImplementedError" not in "".join(c.source for c in ex.cells if "solution" not in c.metadata.get("tags", []))


def test_the_reference_solutions_agree_with_the_package():
    """vaelab.solutions, which the student versions run on, against the package's own computations."""
    import math

    import torch

    from vaelab import solutions
    from vaelab.inference.langevin import langevin
    from vaelab.models import DiagGaussian
    from vaelab.objectives import kernel_matrix, mmd, mmd_weight

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 2, generator=gen), torch.randn(20, 2, generator=gen) + 1.0
    gram = kernel_matrix(torch.cat([x, y]), kernel="rbf", bandwidth=1.0)
    assert torch.allclose(solutions.unbiased_mmd2_from_gram(gram, 30), mmd(x, y, "rbf", bandwidth=1.0), atol=1e-6)
    assert solutions.infovae_weights(1.0, 10.0) == (0.0, mmd_weight(1.0, 10.0))
    with pytest.raises(ValueError):
        solutions.infovae_weights(0.0, 0.001)
    mu, logvar = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    torch.manual_seed(1)
    mc = solutions.monte_carlo_kl(DiagGaussian(mu, logvar), 100_000)
    assert torch.allclose(mc, solutions.kl_to_standard_normal(mu, logvar), atol=0.05)
    assert solutions.free_bits_total([0.1, 0.5, 0.0], 0.25) == pytest.approx(0.25 + 0.5 + 0.25)
    tokens = torch.tensor([[5, 6, 2, 0], [7, 2, 0, 0]])                    # 3 + 2 tokens, EOS included, PAD = 0
    assert solutions.perplexity_from_mean_nll(2.5, tokens) == pytest.approx(math.exp(5.0 / 5))
    target = lambda z: -0.5 * (z ** 2).sum(-1)                             # noqa: E731  log N(0, I) + const
    z0, sizes = torch.randn(5, 2, generator=gen), [0.5, 0.3, 0.1]
    g = torch.Generator().manual_seed(7)
    noise = [torch.randn(5, 2, generator=g) for _ in sizes]
    want = langevin(target, z0, steps=3, step_size=sizes, temperature=0.5, generator=torch.Generator().manual_seed(7)).z
    assert torch.allclose(solutions.langevin_steps(target, z0, sizes, 0.5, noise), want, atol=1e-6)
