"""Student versions, jupytext pairs and Colab cells (scripts/notebooks.py) stay current and work."""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notebooks as tools  # noqa: E402

from test_notebooks import run  # noqa: E402


def test_generated_files_are_current_and_sources_clean(capsys):
    assert tools.check() == 0, capsys.readouterr().err


def test_strip_solutions_keeps_indentation_and_surrounding_lines():
    src = "def f(x):\n    # YOUR TURN\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n\nf(1)\n"
    out = tools.strip_solutions(src, "t")
    assert "return x + 1" not in out and "# YOUR TURN" in out and out.endswith("\nf(1)\n")
    assert '    raise NotImplementedError("exercise: your turn")\n' in out
    ns = {}
    exec(out.replace("f(1)\n", ""), ns)
    with pytest.raises(NotImplementedError):
        ns["f"](1)


@pytest.mark.parametrize("src, match", [
    ("x = 1\n", "no '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without a BEGIN"),
])
def test_malformed_solution_markers_are_errors(src, match):
    with pytest.raises(ValueError, match=match):
        tools.strip_solutions(src, "cell")


def test_colab_cell_is_inert_outside_colab():
    ns = {"get_ipython": lambda: pytest.fail("must not call pip outside Colab")}
    exec(tools.COLAB_CELL, ns)


EXERCISES = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_exercise_version_runs_up_to_its_first_todo(path, tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("VAELAB_QUICK", "1")
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELAB_PROGRESS", "0")
    nb = nbformat.read(path, as_version=4)
    first_todo = next(i for i, c in enumerate(nb.cells) if "solution" in c.get("metadata", {}).get("tags", []))
    nb.cells = nb.cells[:first_todo + 1]
    with pytest.raises(CellExecutionError) as err:
        run(nb, ROOT / "notebooks")
    assert "NotImplementedError" in re.sub(r"\x1b\[[0-9;]*m", "", str(err.value))
    ran = [c for c in nb.cells[:first_todo] if c.cell_type == "code"]
    assert all(not any(o.output_type == "error" for o in c.outputs) for c in ran), "a cell before the TODO failed"
