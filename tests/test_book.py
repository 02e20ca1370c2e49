"""The course website builds, and a browser shows it: the index, and a chapter with every one of its figures.

The build is the real one (`book/build.py`: quick-mode execution, then Sphinx + MyST-NB), cut to the index and
notebook 00 to keep CI short; `make book` builds every chapter the same way. The site is served over HTTP on
localhost, as a static host would, and opened in headless Chromium (Debian's, through Playwright's
`executable_path`; never a downloaded browser). Screenshots go to artifacts/book/ (or $VAELAB_ARTIFACTS/book/).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import LocalServer

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "00_setup_check"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("VAELAB_ARTIFACTS", ROOT / "artifacts")) / "book"
BUILD_TIMEOUT_S = 900

pytestmark = pytest.mark.notebook

# Every image inside a cell's output: (index of its code cell, natural width, natural height, loaded?).
OUTPUT_IMAGES_JS = """() => [...document.querySelectorAll('div.cell')].flatMap((cell, k) =>
    [...cell.querySelectorAll('.cell_output img')].map(img => [k, img.naturalWidth, img.naturalHeight, img.complete]))"""


def digest(folder: Path) -> str:
    """Of what the build reads in `folder`: its notebooks and Markdown pages."""
    h = hashlib.sha256()
    for p in sorted([*folder.glob("*.ipynb"), *folder.glob("*.md")]):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the index and one chapter into a temporary folder; yields (html folder, executed notebook)."""
    for mod in ("sphinx", "myst_nb", "sphinx_book_theme"):
        pytest.importorskip(mod, reason=f"{mod} is not installed: pip install -e '.[book]'")
    tmp = tmp_path_factory.mktemp("book")
    before = digest(ROOT / "notebooks")
    env = {**os.environ, "VAELAB_CACHE": str(tmp / "cache"), "VAELAB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--only", CHAPTER[:2],
                           "--build-dir", str(tmp / "_build")], env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, f"book/build.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    print(f"book: index + {CHAPTER} built in {seconds:.1f} s")
    assert digest(ROOT / "notebooks") == before, "building the site changed notebooks/ (it must only read them)"
    executed = nbformat.read(tmp / "_build" / "executed" / f"{CHAPTER}.ipynb", as_version=4)
    yield tmp / "_build" / "html", executed


def open_browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])


# One test, so that a parallel run (pytest-xdist) builds the site once.
def test_the_site_builds_and_a_browser_shows_the_index_and_every_figure_of_a_chapter(site):
    html, executed = site
    assert (html / "index.html").is_file() and (html / "notebooks" / f"{CHAPTER}.html").is_file()
    # the executed copy is the quick-mode run, with its outputs and no saved widget state
    assert executed.metadata["vaelab_book"]["quick"] is True and "widgets" not in executed.metadata
    if CHROMIUM is None:
        pytest.skip("the site built; to look at it, install Chromium (`apt-get install chromium`, .ci/run does this)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = LocalServer(html)
    with sync_api.sync_playwright() as pw:
        browser = open_browser(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(server.url("index.html"))
            assert "vaelab" in page.title()
            link = page.locator("article a[href$='notebooks/%s.html']" % CHAPTER).first
            assert link.count(), "the index does not link to the chapter"
            page.screenshot(path=str(ARTIFACTS / "index.png"))
            link.click()
            page.wait_for_load_state("load")
            assert page.url.endswith(f"notebooks/{CHAPTER}.html")
            page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=20_000)
            page.screenshot(path=str(ARTIFACTS / f"{CHAPTER}.png"), full_page=True)
            shown = page.evaluate(OUTPUT_IMAGES_JS)
        finally:
            browser.close()
            server.stop()
    # the code cells on the page: MyST-NB drops a cell tagged remove-cell and the outputs of one tagged remove-output
    code = [c for c in executed.cells if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
    code = [nbformat.v4.new_code_cell() if "remove-output" in c.metadata.get("tags", []) else c for c in code]
    figures = [k for k, c in enumerate(code) for o in c.outputs if "image/png" in o.get("data", {})]
    widgets = [k for k, c in enumerate(code) if any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                                                     for o in c.outputs)]
    assert widgets, f"{CHAPTER} displayed no widget: this test would not see a widget's figure go missing"
    assert sorted(k for k, *_ in shown) == sorted(figures), \
        f"figures on the page by code cell {sorted(k for k, *_ in shown)}, in the notebook {sorted(figures)}"
    blank = [s for s in shown if not (s[3] and s[1] > 0 and s[2] > 0)]
    assert not blank, f"images that did not load (code cell, width, height, complete): {blank}"
