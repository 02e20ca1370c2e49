"""A static export keeps every widget's default view: a notebook, executed in quick mode, then exported with
nbconvert's HTML exporter (what `jupyter nbconvert --to html` runs), shows an image in every cell that displays
a widget.

A vaelab widget displays one bundle: the live widget (application/vnd.jupyter.widget-view+json) and a PNG of
its current figure. nbconvert's HTML exporter prefers the widget view whenever the notebook's metadata holds that
widget's saved state, and then the page draws it with JavaScript from a CDN (nothing offline, nothing without a
kernel); without saved state it skips the view and shows the PNG. JupyterLab saves no widget state by default,
and a static export should not carry it (the course website drops it too: `book/build.py` executes with
`store_widget_state=False`), so the exported copy here has none. `run` (nbclient) does store it, hence the pop.

tests/test_notebooks.py calls check_static_export on each notebook it has just executed in quick mode, so every
notebook runs once for both checks; its export is checked cell by cell.
"""
import re

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# What nbconvert's HTML exporter can show of an output besides its plain-text repr.
STATIC = ("text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/latex")
# The lab template opens every cell with <div id="cell-id=..." class="jp-Cell ...">.
CELL_START = re.compile(r'<div\b[^>]*\bclass="jp-Cell ')


def html_cells(body: str) -> list[str]:
    """The exported page split into one HTML chunk per notebook cell, in order."""
    starts = [m.start() for m in CELL_START.finditer(body)]
    return [body[a:b] for a, b in zip(starts, starts[1:] + [len(body)])]


def static_copy(nb):
    """The executed notebook as a static export sees it: no saved widget state."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)
    return nb


def widget_outputs(cell) -> list:
    return [o for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]


def check_static_export(nb, name: str) -> None:
    """Every cell of executed notebook `nb` that displays a widget shows a figure in its static HTML export."""
    from nbconvert import HTMLExporter

    widget_cells = [i for i, c in enumerate(nb.cells) if widget_outputs(c)]
    assert widget_cells or not any("widgets." in c.source for c in nb.cells if c.cell_type == "code"), \
        f"{name}: cells call vaelab.widgets but none displayed a widget"
    for i in widget_cells:
        bare = [o for o in widget_outputs(nb.cells[i]) if not any(m in o["data"] for m in STATIC)]
        assert not bare, (f"{name}, cell {i}: a widget displays with nothing but its text repr "
                          f"({bare[0]['data'].get('text/plain', '')[:60]!r}); a static page would show that text")

    body, _ = HTMLExporter().from_notebook_node(static_copy(nb))
    chunks = html_cells(body)
    assert len(chunks) == len(nb.cells), f"{name}: found {len(chunks)} cells in the HTML, expected {len(nb.cells)}"
    for i in widget_cells:
        chunk = chunks[i]
        assert re.search(r"<img\b[^>]*\bsrc=\"data:image/(png|jpeg)|<svg\b", chunk), \
            f"{name}, cell {i}: the exported HTML shows no figure for this widget cell:\n{nb.cells[i].source}"
        assert 'type="application/vnd.jupyter.widget-view+json"' not in chunk, \
            f"{name}, cell {i}: the export embeds a widget view that needs a kernel or a CDN"
