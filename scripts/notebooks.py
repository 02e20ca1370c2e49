"""Notebook housekeeping: reviewable jupytext pairs, student (exercise) versions, and a CI check.

    python scripts/notebooks.py sync     # rewrite notebooks/py/*.py and notebooks/exercises/*.ipynb
    python scripts/notebooks.py check    # exit 1 if any of them is stale, or a notebook carries outputs

The notebooks in notebooks/ are the instructor versions and the source of truth. Solution cells carry the
cell tag `solution` and mark the lines to hide:

    def my_kl(mu, logvar):
        # YOUR TURN: ...
        # BEGIN SOLUTION
        return 0.5 * (...)
        # END SOLUTION

The exercise version replaces each marked block by a TODO stub that raises NotImplementedError, keeps
every other line (self-check cells included), and drops the outputs. The jupytext pair of each notebook
is notebooks/py/<name>.py in the py:percent format: review the .py diff, edit the .ipynb.
"""
from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PAIRS = NOTEBOOKS / "py"
EXERCISES = NOTEBOOKS / "exercises"
BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
STUB = '{indent}# TODO: your turn. Replace this line with your code.\n{indent}raise NotImplementedError("exercise: your turn")\n'


# Where the notebooks are published: the Colab badge and install cell point here.
REPO = "vaelab/vaelab"
COLAB_TAG = "colab-install"
COLAB_CELL = f"""# On Google Colab only: install vaelab into this runtime and turn on its widget manager (no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", "install -q 'vaelab @ git+https://github.com/{REPO}'")
    from google.colab import output
    output.enable_custom_widget_manager()"""


def colab_badge(name: str) -> str:
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/notebooks/{name}"
    return f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def with_colab(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook with a Colab badge atop its first markdown cell and the install cell as first code cell."""
    nb = copy.deepcopy(nb)
    badge = colab_badge(name)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    if "colab-badge.svg" not in first_md.source:
        first_md.source = badge + "\n\n" + first_md.source
    if not any(COLAB_TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        cell = nbformat.v4.new_code_cell(COLAB_CELL, metadata={"tags": [COLAB_TAG]})
        cell.id = COLAB_TAG   # a fixed id keeps regenerated files byte-identical
        nb.cells.insert(nb.cells.index(first_md) + 1, cell)
    return nb


def sources() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def strip_solutions(source: str, where: str) -> str:
    """Replace each BEGIN/END SOLUTION block by a stub at the same indentation."""
    out, inside, indent, found = [], False, "", False
    for line in source.splitlines(keepends=True):
        m = BEGIN.match(line)
        if m:
            if inside:
                raise ValueError(f"{where}: nested '# BEGIN SOLUTION'")
            inside, indent, found = True, m.group(1), True
            continue
        if END.match(line):
            if not inside:
                raise ValueError(f"{where}: '# END SOLUTION' without a BEGIN")
            inside = False
            out.append(STUB.format(indent=indent))
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '# BEGIN SOLUTION' is never closed")
    if not found:
        raise ValueError(f"{where}: a cell tagged 'solution' has no '# BEGIN SOLUTION' ... '# END SOLUTION' block")
    return "".join(out)


def exercise_version(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    ex = copy.deepcopy(nb)
    n_solutions = 0
    for i, cell in enumerate(ex.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if "solution" in cell.get("metadata", {}).get("tags", []):
            cell.source = strip_solutions(cell.source, f"{name}, cell {i}")
            n_solutions += 1
    if n_solutions:
        note = nbformat.v4.new_markdown_cell(
            f"> **Student version** of `{name}`: the exercise cells raise `NotImplementedError` until you fill "
            "them in; the self-check cells after them tell you whether you got it right.")
        note.id = "student-version"
        ex.cells.insert(0, note)
    return ex


def has_outputs(nb) -> bool:
    return any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def expected_files() -> dict[Path, str]:
    """Every generated file and the text it should hold."""
    import jupytext

    files = {}
    for path in sources():
        nb = nbformat.read(path, as_version=4)
        text = jupytext.writes(nb, fmt="py:percent")
        # the pair must not depend on which jupytext wrote it
        files[PAIRS / f"{path.stem}.py"] = re.sub(r"^#\s+jupytext_version: .*\n", "", text, flags=re.M)
        if any("solution" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
            files[EXERCISES / path.name] = nbformat.writes(exercise_version(nb, path.name)) + "\n"
    return files


def sync() -> int:
    for path in sources():
        nb = nbformat.read(path, as_version=4)
        done = with_colab(nb, path.name)
        if done != nb:
            nbformat.write(done, path)
            print(f"added the Colab badge/install cell to {path.relative_to(ROOT)}")
    want = expected_files()
    # remove only what no source notebook on disk generates (a sync of a selection leaves the rest alone)
    existing = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    for folder in (PAIRS, EXERCISES):
        folder.mkdir(exist_ok=True)
        for old in list(folder.glob("*.py")) + list(folder.glob("*.ipynb")):
            if old.stem not in existing:
                old.unlink()
    for path, text in want.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


def check() -> int:
    problems = []
    for path in sources():
        nb = nbformat.read(path, as_version=4)
        if has_outputs(nb):
            problems.append(f"{path.relative_to(ROOT)} is committed with outputs: clear them")
        if with_colab(nb, path.name) != nb:
            problems.append(f"{path.relative_to(ROOT)} lacks the Colab badge or install cell")
    want = expected_files()
    for path, text in want.items():
        if not path.exists():
            problems.append(f"{path.relative_to(ROOT)} is missing")
        elif path.read_text() != text:
            problems.append(f"{path.relative_to(ROOT)} is out of date")
    for folder in (PAIRS, EXERCISES):
        for extra in sorted(folder.glob("*")):
            if extra.suffix in (".py", ".ipynb") and extra not in want:
                problems.append(f"{extra.relative_to(ROOT)} has no source notebook")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("run: python scripts/notebooks.py sync", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    commands = {"sync": sync, "check": check}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python scripts/notebooks.py {{{'|'.join(commands)}}}")
    sys.exit(commands[sys.argv[1]]())
