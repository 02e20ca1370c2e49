"""The real thing: JupyterLab in headless Chromium renders vaelab's widgets, and they respond.

Executing notebooks headless (test_notebooks.py) cannot see a missing or mismatched widget front-end;
this test can. It starts JupyterLab on localhost with a temporary settings/config/workspace directory
and a token, opens copies of the notebooks (so the repository's notebooks never gain outputs), runs all
cells in the browser, changes a control (a button, a slider, a click on notebook 06's live ipympl map), and
asserts that the widget's rendered image changed.

Chromium is Debian's (`apt-get install chromium`, done by .ci/run); Playwright drives it through
`executable_path` and never downloads a browser. Without either, the test skips and says why.
Screenshots go to artifacts/browser/ (or $VAELAB_ARTIFACTS/browser/).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("VAELAB_ARTIFACTS", ROOT / "artifacts")) / "browser"
TOKEN = "vaelab-browser-test"
RUN_TIMEOUT_S = 240
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"   # the notebook tab in front; others stay in the DOM, hidden

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (.ci/run does this) to run the browser test")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving copies of the notebooks; yields its base URL."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    _write_error_probe(root / ERROR_PROBE)
    notes = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port = _free_port()
    env = {**os.environ, "VAELAB_QUICK": "1", "VAELAB_CACHE": str(tmp / "cache"), "VAELAB_PROGRESS": "0",
           "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail(f"JupyterLab did not start:\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# An error output. JupyterLab 4 renders a traceback as application/vnd.jupyter.stderr, like a warning (older versions
# used application/vnd.jupyter.error): tell them apart by IPython's traceback header.
IS_ERROR_JS = ("o => (o.dataset.mimeType === 'application/vnd.jupyter.error' || (o.dataset.mimeType === "
               "'application/vnd.jupyter.stderr' && o.textContent.includes('Traceback (most recent call last)')))")
ERRORS_JS = "() => [...document.querySelectorAll('%s .jp-OutputArea-output')].filter(%s).map(o => o.textContent)" % (
    PANEL, IS_ERROR_JS)

# The run's state. "running" while any cell is queued or running; "error" for a traceback in a cell whose earlier
# code cells all ran (a cell run out of order, e.g. by a stray "Run Selected Cell", fails on names the cells above
# define: that is a failed launch, retried, not a failing notebook); "done" when every code cell ran.
_STATE_JS = """() => {
    const panel = document.querySelector("%s");
    if (!panel) return "loading";
    const cells = [...panel.querySelectorAll('.jp-CodeCell')];
    if (cells.length === 0) return "loading";
    const prompt = c => (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent;
    if (cells.some(c => /\\[\\*\\]/.test(prompt(c)))) return "running";
    const bad = cells.findIndex(c => [...c.querySelectorAll('.jp-OutputArea-output')].some(%s));
    if (bad >= 0 && cells.slice(0, bad).every(c => /\\[\\d+\\]/.test(prompt(c)))) return "error";
    if (cells.every(c => /\\[\\d+\\]/.test(prompt(c)))) return "done";
    return "not started";
}""" % (PANEL, IS_ERROR_JS)


def _accept_kernel_dialog(page) -> bool:
    """JupyterLab may ask which kernel to start (a race with loading kernel specs); accept its default."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if dialog.is_visible():
        dialog.locator("button", has_text="Select").click()
        return True
    return False


def _click_run_all(page) -> bool:
    """Run > Run All Cells; True once every code cell is queued or run (a click that lands while a dialog or the
    menu is still moving can run only the selected cell, and "Run All" is a no-op until the session connects)."""
    started = ("() => [...document.querySelectorAll('%s .jp-CodeCell .jp-InputPrompt')].every(p => /\\[[*\\d]/.test(p.textContent))"
               " && document.querySelectorAll('%s .jp-CodeCell').length > 0" % (PANEL, PANEL))
    _accept_kernel_dialog(page)
    try:
        # select the first code cell: should a click land on "Run Selected Cell", it runs a cell that needs nothing
        page.locator(PANEL).locator(".jp-CodeCell .jp-InputPrompt").first.click(timeout=5_000)
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=5_000)
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click(timeout=5_000)
        page.wait_for_function(started, timeout=5_000)
        return True
    except sync_timeout():
        return False


ERROR_PROBE = "_error_probe.ipynb"


def _write_error_probe(path: Path) -> None:
    """A notebook whose second cell fails (after a warning on stderr): the test's error detection must see it."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import warnings\nwarnings.warn('a warning is not an error')"),
                nbformat.v4.new_code_cell("raise ValueError('the probe fails here')"),
                nbformat.v4.new_code_cell("print('never runs')")]
    nbformat.write(nb, path)


def _run_all(page, base: str, notebook: str):
    """Open a notebook, run every cell through the Run menu, wait until the kernel is done.

    The wait is a poll, not one long wait: if the kernel is replaced after the cells were queued (JupyterLab's
    kernel dialog can come late, and a new kernel clears the queue back to "[ ]:"), Run All is issued again.
    """
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={TOKEN}")   # reset: only this notebook open
    panel = page.locator(PANEL)
    panel.locator(".jp-Cell").first.wait_for(timeout=120_000)
    idle = panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    deadline = time.time() + 180
    while not idle.count():
        _accept_kernel_dialog(page)
        if time.time() > deadline:
            pytest.fail(f"{notebook}: the kernel never became idle")
        page.wait_for_timeout(500)
    history = []
    deadline = time.time() + RUN_TIMEOUT_S
    launches, quiet_since = 0, None
    while True:
        state = page.evaluate(_STATE_JS)
        if not history or history[-1] != state:
            history.append(state)
        if state in ("done", "error"):
            break
        if _accept_kernel_dialog(page):
            quiet_since = None
        if state == "not started" and idle.count():
            # nothing queued, nothing running, kernel idle: (re)issue Run All, after 3 s of quiet so a
            # just-clicked Run All has time to queue its cells
            quiet_since = quiet_since or time.time()
            if launches == 0 or time.time() - quiet_since > 3:
                if launches >= 5:
                    pytest.fail(f"{notebook}: 'Run All Cells' never ran the notebook (states: {history})")
                launches += 1
                _click_run_all(page)
                quiet_since = None
        else:
            quiet_since = None
        if time.time() > deadline:
            _shot(page, f"timeout_{notebook}.png")
            pytest.fail(f"{notebook}: not finished after {RUN_TIMEOUT_S} s; Run All issued {launches}x; states: {history}")
        page.wait_for_timeout(500)
    errors = page.evaluate(ERRORS_JS)
    assert not errors, f"{notebook}: a cell failed in the browser:\n{errors[0][:2000]}"


def sync_timeout():
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    return PlaywrightTimeout


def _widget_image(cell):
    img = cell.locator(".widget-output img").first
    img.wait_for(timeout=30_000)
    return img.get_attribute("src")


def _wait_changed(cell, before: str, what: str):
    deadline = time.time() + 30
    while time.time() < deadline:
        now = cell.locator(".widget-output img").first.get_attribute("src")
        if now and now != before:
            return now
        time.sleep(0.25)
    pytest.fail(f"{what}: the widget's image did not change")


def _shot(page, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def test_a_failing_cell_fails_the_run_at_once_with_its_traceback(lab, browser):
    """JupyterLab 4 renders a traceback as stderr, like a warning: the run must stop on the error (not time out)
    and report the traceback, and must not mistake the warning for an error."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # a timeout would end in pytest.fail ("not finished after ..."), which is not an AssertionError
        with pytest.raises(AssertionError, match="ValueError: the probe fails here"):
            _run_all(page, lab, ERROR_PROBE)
    finally:
        page.close()


def test_widgets_render_and_respond_in_jupyterlab(lab, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # notebook 00: the responsive-widget check a student runs first
        _run_all(page, lab, "00_setup_check.ipynb")
        button = page.locator(PANEL).locator(".jupyter-widgets.jupyter-button", has_text="Click me").first
        button.scroll_into_view_if_needed()
        cell = page.locator(PANEL).locator(".jp-Cell", has=page.locator(".jupyter-button", has_text="Click me"))
        assert page.locator(PANEL).locator(".jupyter-widgets").count() > 0, "no widget was rendered: is the front-end installed?"
        before = _widget_image(cell)
        _shot(page, "00_before_click.png")
        button.click()
        _wait_changed(cell, before, "notebook 00, 'Click me'")
        _shot(page, "00_after_click.png")

        # notebook 01: move a latent slider of the decoder explorer
        _run_all(page, lab, "01_elbo_and_latent_space.ipynb")
        panel = page.locator(PANEL)
        slider = panel.locator(".widget-slider", has=page.locator(".widget-label", has_text="z1")).first
        slider.scroll_into_view_if_needed()
        cell = panel.locator(".jp-Cell", has=page.locator(".widget-slider", has=page.locator(".widget-label", has_text="z1")))
        before = _widget_image(cell)
        _shot(page, "01_before_slider.png")
        readout = slider.locator(".widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("2.5")
        page.keyboard.press("Enter")
        _wait_changed(cell, before, "notebook 01, slider z1")
        assert "2.5" in readout.inner_text()
        _shot(page, "01_after_slider.png")

        # notebook 06: click-to-decode on the live ipympl map (jupyter-matplotlib front-end -> kernel -> decoder)
        _run_all(page, lab, "06_latent_space_explorer.ipynb")
        panel = page.locator(PANEL)
        live = panel.locator(".jupyter-matplotlib-canvas-div").first
        live.wait_for(timeout=30_000)
        live.scroll_into_view_if_needed()
        cell = panel.locator(".jp-Cell", has=page.locator(".jupyter-matplotlib-canvas-div"))
        before = _widget_image(cell)
        _shot(page, "06_before_click.png")
        box = live.bounding_box()
        live.click(position={"x": 0.62 * box["width"], "y": 0.38 * box["height"]})      # inside the axes
        _wait_changed(cell, before, "notebook 06, a click on the live map")
        _shot(page, "06_after_click.png")
    except BaseException:
        _shot(page, "failure.png")
        raise
    finally:
        page.close()
