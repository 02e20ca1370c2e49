"""Every notebook in notebooks/ runs headless in quick mode, in a kernel running this very Python.

The kernel is started from a kernel spec built here ([sys.executable, -m, ipykernel_launcher]) rather than
whatever 'python3' spec the machine has installed, so a stale user-level spec pointing at another Python
cannot make these tests pass or fail for the wrong reason. Each run gets its own empty model cache.
"""
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((NOTEBOOK_DIR / "exercises").glob("[0-9][0-9]_*.ipynb"))    # the student versions
CELL_TIMEOUT = 600   # seconds; quick mode needs a small fraction of this


def this_python_kernel_manager():
    """A kernel manager class whose only kernel spec is this interpreter running ipykernel."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name=f"Python ({sys.executable})", language="python", resource_dir="")

    class ThisPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return ThisPython()

    return ThisPythonKernelManager


def run(nb, cwd: Path):
    from nbclient import NotebookClient

    # nbclient creates (and therefore also shuts down) the kernel from this class.
    client = NotebookClient(nb, kernel_manager_class=this_python_kernel_manager(), kernel_name="python3",
                            timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}})
    return client.execute()


@pytest.fixture
def quick_env(tmp_path, monkeypatch):
    # The kernel inherits this process's environment.
    monkeypatch.setenv("VAELAB_QUICK", "1")
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELAB_PROGRESS", "0")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return tmp_path


def test_notebooks_are_found_and_numbered():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert numbers == [f"{i:02d}" for i in range(len(NOTEBOOKS))], f"notebooks must be numbered 00, 01, ...: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean_and_follows_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them before committing"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters', found {len(tagged)}"
    assert "is_quick()" in tagged[0].source, f"{path.name}: the parameters cell should shrink sizes with is_quick()"
    intro = nb.cells[0].source.lower()
    assert nb.cells[0].cell_type == "markdown"
    for word in ("learning goals", "time", "prerequisites"):
        assert word in intro, f"{path.name}: the opening markdown cell should state its {word}"


@pytest.mark.notebook
def test_the_kernel_is_this_python(quick_env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys; print(sys.executable); print(os.environ['VAELAB_QUICK'])")])
    out = run(nb, quick_env).cells[0].outputs[0]["text"].split()
    assert Path(out[0]).resolve() == Path(sys.executable).resolve()
    assert out[1] == "1"


def run_or_fail(nb, cwd: Path, name: str):
    from nbclient.exceptions import CellExecutionError

    try:
        run(nb, cwd)
    except CellExecutionError as err:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))          # drop the traceback's terminal colours
        pytest.fail(f"{name} failed in a cell:\n{plain}", pytrace=False)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_headless_in_quick_mode(path, quick_env, record_property):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    run_or_fail(nb, NOTEBOOK_DIR, path.name)
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s in quick mode")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    # Every widget cell carries a static picture too (GitHub, nbconvert); a widget whose default view
    # failed to draw shows its error in its Output instead, and has no picture here.
    widget_cells = [c for c in nb.cells if c.cell_type == "code" and "widgets." in c.source]
    for c in widget_cells:
        assert any("image/png" in o.get("data", {}) for o in c.outputs), \
            f"{path.name}: widget cell without a static figure:\n{c.source}"
    # ... and the static HTML export (nbconvert, the course website) shows it
    from export_check import check_static_export   # here: benchmarks/bench_notebooks.py loads this file by path

    check_static_export(nb, path.name)


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXERCISES, ids=[f"exercises/{p.stem}" for p in EXERCISES])
def test_student_version_runs_to_the_end_on_the_reference_solutions(path, quick_env, record_property):
    """'Run All' of an untouched student version reaches the end: every stub falls back on vaelab.solutions, says
    so in its own cell, and no self-check claims a pass for code the student has not written."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    run_or_fail(nb, path.parent, f"exercises/{path.name}")
    record_property("seconds", round(time.perf_counter() - start, 1))

    def text(cell):
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    stubs = [c for c in code if "solution" in c.metadata.get("tags", [])]
    assert stubs, f"{path.name} has no exercise"
    for c in stubs:
        assert "NotImplementedError" in c.source and "is not written yet" in text(c), \
            f"{path.name}: this exercise cell did not announce its fallback on the reference:\n{c.source}"
    everything = "".join(text(c) for c in code)
    assert not re.search(r"^Exercise \d+ passed", everything, re.M), f"{path.name}: a self-check passed unwritten code"
    assert everything.count("not checked yet") >= len(stubs)


# -- the lecture profile: real-data sections from the shipped lecture checkpoints ----------------------------------
DATA_DIR = Path(os.environ.get("VAELAB_DATA_DIR") or NOTEBOOK_DIR.parent.parent / "shared" / "data")
# notebooks with sections of their own in the lecture profile; the others read only is_quick(), which is True in
# the lecture profile too, so their lecture run is their quick run
LECTURE_NOTEBOOKS = [p for p in NOTEBOOKS if "profile()" in p.read_text()]
LECTURE_DATA = ("short_yelp", "binarized_mnist.npz")


def test_the_lecture_profile_covers_notebooks_02_and_03():
    assert [p.stem[:2] for p in LECTURE_NOTEBOOKS] == ["02", "03"]


@pytest.mark.notebook
@pytest.mark.parametrize("path", LECTURE_NOTEBOOKS, ids=[p.stem for p in LECTURE_NOTEBOOKS])
def test_notebook_runs_headless_in_the_lecture_profile(path, tmp_path, monkeypatch, record_property):
    """The lecture profile on the real data (../shared/data, as CI has it): the sections that load the shipped
    lecture checkpoints run, and their checked claims hold. Outside CI, without the data, it skips."""
    missing = [n for n in LECTURE_DATA if not (DATA_DIR / n).exists()]
    if missing:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off"):
            pytest.fail(f"CI must have the real data for the lecture profile: {missing} not in {DATA_DIR}")
        pytest.skip(f"the lecture profile needs {missing} in {DATA_DIR} (set VAELAB_DATA_DIR)")
    monkeypatch.delenv("VAELAB_QUICK", raising=False)
    monkeypatch.setenv("VAELAB_PROFILE", "lecture")
    monkeypatch.setenv("VAELAB_DATA_DIR", str(DATA_DIR))
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELAB_PROGRESS", "0")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    run_or_fail(nb, NOTEBOOK_DIR, f"{path.name} (lecture profile)")
    record_property("seconds", round(time.perf_counter() - start, 1))
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                      if o.output_type == "stream")
    assert "all claims hold (3 seeds)" in printed, f"{path.name}: the lecture section did not run its checks"
    assert "this section runs in the lecture profile" not in printed
