"""Notebook housekeeping: reviewable jupytext pairs, student (exercise) versions, links, references, and a CI check.

    python scripts/notebooks.py sync     # rewrite notebooks/py/*.py, notebooks/exercises/*.ipynb, REFERENCES.md
    python scripts/notebooks.py check    # exit 1 if any of them is stale, or a notebook carries outputs

The notebooks in notebooks/ are the instructor versions and the source of truth. Solution cells carry the
cell tag `solution` and mark the lines to hide, always inside the body of the exercise function:

    def my_kl(mu, logvar):
        # YOUR TURN: ...
        # BEGIN SOLUTION
        return 0.5 * (...)
        # END SOLUTION

    mine = checks.yours_or_reference(my_kl, solutions.kl_to_standard_normal, mu, logvar)

The exercise version replaces each marked block by a stub that raises NotImplementedError when the function is
called, keeps every other line (self-check cells included), and drops the outputs. The notebook calls the
function through `vaelab.checks.yours_or_reference`, so an unfilled stub prints one line and the rest of the
notebook runs on the reference solution (vaelab.solutions); "Run All" reaches the end either way.

`sync` also keeps, in the first markdown cell of every notebook, a links line to NOTATION.md and to the other
version (student <-> instructor), and gathers the "## References" cells of all notebooks into REFERENCES.md.
The jupytext pair of each notebook is notebooks/py/<name>.py in the py:percent format: review the .py diff,
edit the .ipynb.
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
STUB = ('{indent}# TODO: your turn. Replace this line with your code (until then the notebook uses the reference).\n'
        '{indent}raise NotImplementedError("exercise: your turn")\n')
LINKS = re.compile(r"^\*\*Notation:\*\*.*$", re.M)      # the links line of a notebook's first markdown cell
REFERENCES_HEADING = "## References"


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


def has_exercises(nb) -> bool:
    return any("solution" in c.get("metadata", {}).get("tags", []) for c in nb.cells)


def links_line(name: str, exercises: bool, student: bool = False) -> str:
    """The line under a notebook's title: the notation page and the other version of the same notebook."""
    if student:
        return (f"**Notation:** [NOTATION.md](../NOTATION.md) · **Instructor version** (with solutions): "
                f"[../{name}](../{name})")
    line = "**Notation:** [NOTATION.md](NOTATION.md)"
    if exercises:
        line += f" · **Student version:** [exercises/{name}](exercises/{name})"
    return line


def with_links(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook with the links line right under the title of its first markdown cell (or replaced there)."""
    nb = copy.deepcopy(nb)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    line = links_line(name, has_exercises(nb))
    if LINKS.search(first_md.source):
        first_md.source = LINKS.sub(lambda _m: line, first_md.source, count=1)
    else:
        lines = first_md.source.split("\n")
        title = next((i for i, t in enumerate(lines) if t.startswith("# ")), 0)
        lines[title + 1:title + 1] = ["", line]
        first_md.source = "\n".join(lines)
    return nb


def relink_for_exercises(source: str, name: str) -> str:
    """A markdown cell as seen from notebooks/exercises/: the links line points back to the instructor version,
    relative links gain '../', and the Colab badge opens the student version."""
    source = LINKS.sub(lambda _m: links_line(name, True, student=True), source, count=1)
    source = re.sub(r"\]\((?!https?:|#|/|mailto:|\.\./)([^)\s]+)\)", r"](../\1)", source)
    return source.replace(f"blob/main/notebooks/{name}", f"blob/main/notebooks/exercises/{name}")


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
            if not indent:
                raise ValueError(f"{where}: '# BEGIN SOLUTION' must sit inside the exercise function's body (indented), "
                                 "so that its stub raises only when the function is called")
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
        if cell.cell_type == "markdown":
            cell.source = relink_for_exercises(cell.source, name)
            continue
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if "solution" in cell.get("metadata", {}).get("tags", []):
            cell.source = strip_solutions(cell.source, f"{name}, cell {i}")
            n_solutions += 1
    if n_solutions:
        note = nbformat.v4.new_markdown_cell(
            f"> **Student version** of `{name}` (the instructor version, with solutions, is `../{name}`). Each "
            "exercise is a function with a `# TODO` line: replace it with your code and run the cell. Until you do, "
            "the notebook says so in one line and carries on with the reference solution from `vaelab.solutions`, "
            "so *Run All* reaches the end. The self-check cell after each exercise tells you whether yours is right.")
        note.id = "student-version"
        ex.cells.insert(0, note)
    return ex


def has_outputs(nb) -> bool:
    return any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def references_cell(nb) -> nbformat.NotebookNode | None:
    """The notebook's reference list: its last cell, a markdown cell headed '## References'."""
    last = nb.cells[-1] if nb.cells else None
    if last is not None and last.cell_type == "markdown" and last.source.startswith(REFERENCES_HEADING):
        return last
    return None


def references_page(notebooks: dict[str, nbformat.NotebookNode]) -> str:
    """notebooks/REFERENCES.md: every entry ('- ...' line) of the notebooks' reference cells, once, with the
    notebooks that cite it."""
    cited: dict[str, list[str]] = {}
    for name, nb in notebooks.items():
        cell = references_cell(nb)
        for line in (cell.source.splitlines() if cell else []):
            if line.startswith("- "):
                cited.setdefault(line[2:].strip(), []).append(name[:2])
    rows = [f"- {entry} *Cited in notebook{'s' if len(nbs) > 1 else ''} {', '.join(nbs)}.*"
            for entry, nbs in sorted(cited.items(), key=lambda kv: kv[0].lower())]
    return ("# References\n\nEvery paper the notebooks cite, with the notebooks that cite it. Generated by "
            "`python scripts/notebooks.py sync` from the \"References\" cell at the end of each notebook: edit "
            "those, not this file. Symbols: [NOTATION.md](NOTATION.md).\n\n" + "\n".join(rows) + "\n")


def expected_files() -> dict[Path, str]:
    """Every generated file and the text it should hold."""
    import jupytext

    files, notebooks = {}, {}
    for path in sources():
        nb = nbformat.read(path, as_version=4)
        notebooks[path.name] = nb
        text = jupytext.writes(nb, fmt="py:percent")
        # the pair must not depend on which jupytext wrote it
        files[PAIRS / f"{path.stem}.py"] = re.sub(r"^#\s+jupytext_version: .*\n", "", text, flags=re.M)
        if has_exercises(nb):
            files[EXERCISES / path.name] = nbformat.writes(exercise_version(nb, path.name)) + "\n"
    files[NOTEBOOKS / "REFERENCES.md"] = references_page(notebooks)
    return files


def completed(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """What sync makes of a source notebook: the Colab badge and install cell, and the links line."""
    return with_links(with_colab(nb, name), name)


def sync() -> int:
    for path in sources():
        nb = nbformat.read(path, as_version=4)
        done = completed(nb, path.name)
        if done != nb:
            nbformat.write(done, path)
            print(f"added the Colab badge/install cell or the links line to {path.relative_to(ROOT)}")
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
        if completed(nb, path.name) != nb:
            problems.append(f"{path.relative_to(ROOT)} lacks the Colab badge, the install cell or its links line")
        if references_cell(nb) is None:
            problems.append(f"{path.relative_to(ROOT)} must end with a markdown cell headed '{REFERENCES_HEADING}'")
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
