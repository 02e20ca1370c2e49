"""Build the course website: the notebooks, executed in quick mode, rendered by Sphinx + MyST-NB.

    python book/build.py                 # every notebook 00-0N and every notebooks/*.md (NOTATION, INSTRUCTORS, ...)
    python book/build.py --only 00 03    # the index and these chapters (a quick look)
    python book/build.py --force         # re-execute even the notebooks whose executed copy is up to date

Steps (everything under book/_build/, or --build-dir):
1. executed/: each notebook executed headless in quick mode (VAELAB_QUICK=1) by a kernel running this very
   Python, one at a time. A copy is reused while the notebook and vaelab's source are unchanged. notebooks/
   never gains outputs. Widget state is not stored (store_widget_state=False): a static page cannot run a
   widget, so each widget cell shows the PNG of its default view that vaelab's widgets display with it.
2. src/: index.md (book/index.md plus a generated chapter table and table of contents), the executed notebooks
   and the Markdown pages of notebooks/, under notebooks/ so that links between them keep working; a relative
   link to anything else (a student version in exercises/, a script) points at the file on GitHub instead.
3. html/: `sphinx-build -b html -c book src html`. book/conf.py renders without executing anything.

Models are trained into $VAELAB_CACHE (default: your user cache), so a second build only loads them.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
NOTEBOOKS = ROOT / "notebooks"
FIRST_PAGES = ("NOTATION.md", "INSTRUCTORS.md")    # every notebooks/*.md is a page; these come first
REPOSITORY = "https://github.com/vaelab/vaelab"
CELL_TIMEOUT_S = 600
RELATIVE_LINK = re.compile(r"(\]\()(?![a-z][a-z0-9+.-]*:|#|/)([^)\s#]+)(#[^)\s]*)?(\))", re.I)


def chapters(only=None) -> list[Path]:
    """The numbered notebooks, or those whose name starts with one of `only` (e.g. ['00', '03'])."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(o) for o in only)]
        if not found:
            raise SystemExit(f"--only {' '.join(only)} matches no notebook in {NOTEBOOKS}")
    return found


def source_key(path: Path) -> str:
    """What an executed copy depends on: the notebook, vaelab's Python source and the shipped checkpoints."""
    h = hashlib.sha256(path.read_bytes())
    pkg = ROOT / "vaelab"
    for f in sorted([*pkg.rglob("*.py"), *pkg.rglob("shipped/*")]):
        h.update(str(f.relative_to(pkg)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def kernel_manager_class():
    """A kernel manager whose only kernel spec is this interpreter running ipykernel (not whatever 'python3'
    spec the machine has: a stale one could point at another Python)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python 3 (ipykernel)", language="python", resource_dir="")

    class ThisPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return ThisPython()

    return ThisPythonKernelManager


def execute(path: Path, out: Path, force: bool = False) -> float | None:
    """Execute notebook `path` in quick mode into `out`; seconds taken, or None when `out` was up to date."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    key = source_key(path)
    if not force and out.exists():
        old = nbformat.read(out, as_version=4)
        if old.metadata.get("vaelab_book", {}).get("source_key") == key:
            return None
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, kernel_manager_class=kernel_manager_class(), kernel_name="python3",
                            timeout=CELL_TIMEOUT_S, store_widget_state=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as err:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
        raise SystemExit(f"{path.name} failed in quick mode, so the site is not built:\n{plain}") from None
    seconds = time.perf_counter() - start
    nb.metadata["vaelab_book"] = {"source_key": key, "quick": True, "seconds": round(seconds, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)             # never a half-written copy under the name of a complete one
    return seconds


def chapter_row(path: Path) -> tuple[str, str]:
    """(title, time) from a notebook's opening cell: its '# ' heading and its '**Time:**' line."""
    import nbformat

    intro = nbformat.read(path, as_version=4).cells[0].source
    title = re.search(r"^#\s+(.+)$", intro, re.M)
    spent = re.search(r"\*\*Time:\*\*\s*([^(\n]+)", intro)
    spent = spent.group(1).strip(" .") if spent else ""
    return (title.group(1).strip() if title else path.stem), re.sub(r"^about (\d+) minutes$", r"\1 min", spent)


def page_title(path: Path) -> str:
    heading = re.search(r"^#\s+(.+)$", path.read_text(encoding="utf-8"), re.M)
    return heading.group(1).strip() if heading else path.stem.title()


def index_page(executed: list[Path], pages: list[Path]) -> str:
    """book/index.md, then a table of the chapters and the (hidden) tables of contents for the sidebar."""
    lines = [(BOOK / "index.md").read_text(encoding="utf-8").rstrip(), "", "## Chapters", "",
             "| | chapter | time |", "|---|---|---|"]
    for p in executed:
        title, spent = chapter_row(p)
        number, _, name = title.partition(" · ")
        lines.append(f"| {number if name else ''} | [{name or title}](notebooks/{p.name}) | {spent} |")
    lines += ["", "```{toctree}", ":hidden:", ":caption: Chapters", ":maxdepth: 1", ""]
    lines += [f"notebooks/{p.stem}" for p in executed] + ["```", ""]
    if pages:
        lines += ["## For reference", ""] + [f"- [{page_title(p)}](notebooks/{p.name})" for p in pages]
        lines += ["", "```{toctree}", ":hidden:", ":caption: Reference", ""]
        lines += [f"notebooks/{p.stem}" for p in pages] + ["```", ""]
    return "\n".join(lines)


def markdown_pages() -> list[Path]:
    """notebooks/*.md: NOTATION.md and INSTRUCTORS.md first (when they exist), then the rest by name."""
    found = sorted(NOTEBOOKS.glob("*.md"))
    return sorted(found, key=lambda p: (FIRST_PAGES.index(p.name) if p.name in FIRST_PAGES else len(FIRST_PAGES),
                                        p.name))


def link_outside(text: str, staged: set[str]) -> str:
    """Relative links to files that are not pages of the site point at them in the repository on GitHub."""
    def fix(m):
        target = m.group(2)
        if target in staged:
            return m.group(0)
        return f"{m.group(1)}{REPOSITORY}/blob/main/notebooks/{target}{m.group(3) or ''}{m.group(4)}"
    return RELATIVE_LINK.sub(fix, text)


def stage(executed: list[Path], src: Path) -> list[Path]:
    """Lay out the Sphinx source folder; returns the Markdown pages included."""
    import nbformat

    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    pages = markdown_pages()
    staged = {p.name for p in [*executed, *pages]}
    for p in executed:
        nb = nbformat.read(p, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = link_outside(cell.source, staged)
        nbformat.write(nb, src / "notebooks" / p.name)
    for p in pages:
        (src / "notebooks" / p.name).write_text(link_outside(p.read_text(encoding="utf-8"), staged), encoding="utf-8")
    (src / "index.md").write_text(index_page(executed, pages), encoding="utf-8")
    return pages


def build(only=None, build_dir: Path = BOOK / "_build", force: bool = False) -> Path:
    """Execute, stage and render; returns the folder of the site (its index.html)."""
    os.environ["VAELAB_PROFILE"], os.environ["VAELAB_QUICK"] = "quick", "1"    # the kernels inherit this environment
    os.environ.setdefault("VAELAB_PROGRESS", "0")    # no progress-bar widgets in the pages
    build_dir = Path(build_dir).resolve()
    executed = []
    for path in chapters(only):
        out = build_dir / "executed" / path.name
        seconds = execute(path, out, force)
        print(f"{path.name}: " + ("up to date" if seconds is None else f"executed in {seconds:.1f} s"), flush=True)
        executed.append(out)
    src, html = build_dir / "src", build_dir / "html"
    stage(executed, src)
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    rc = build_main(["-b", "html", "-E", "-q", "-c", str(BOOK), "-d", str(build_dir / "doctrees"), str(src), str(html)])
    if rc:
        raise SystemExit(f"sphinx-build failed (exit {rc}); see the messages above")
    print(f"site rendered in {time.perf_counter() - start:.1f} s: {html / 'index.html'}", flush=True)
    return html


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NN", help="only the chapters whose file name starts with these")
    ap.add_argument("--build-dir", type=Path, default=BOOK / "_build", help="default: book/_build")
    ap.add_argument("--force", action="store_true", help="re-execute every notebook")
    args = ap.parse_args(argv)
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as err:
        raise SystemExit(f"the website needs Sphinx, MyST-NB and the book theme ({err.name} is missing): "
                         f"pip install -e '.[book]'") from None
    build(args.only, args.build_dir, args.force)


if __name__ == "__main__":
    main()
