"""A trivial widget for the set-up check: click, and a counter and a picture change."""
from __future__ import annotations

import ipywidgets as widgets

from .. import plots
from ._base import Explorer


class ClickCounterDemo(Explorer):
    """A button that counts clicks and shows the next image of `images` (N, C, H, W) on each click.

    If the count and the picture change when you click, widgets work in this Jupyter: the browser talks
    to the kernel and back. `count` is the number of clicks; `last_data` the image on show.
    """

    def __init__(self, images, labels=None):
        super().__init__()
        if len(images) == 0:
            raise ValueError("images is empty: pass at least one image, e.g. load_dataset('digits', 'test').x")
        self.images, self.labels = images, labels
        self.count = 0
        self.button = widgets.Button(description="Click me", button_style="primary", icon="hand-pointer",
                                     layout=widgets.Layout(width="160px", height="40px"))
        self.counter = widgets.HTML(self._counter_html())
        self.button.on_click(self.click)
        self.ui = widgets.VBox([widgets.HBox([self.button, self.counter]), self.output])
        self.redraw()

    def _counter_html(self) -> str:
        return f"<span style='font-size:20px; margin-left:12px'>clicks: <b>{self.count}</b></span>"

    def click(self, _button=None) -> None:
        self.count += 1
        self.counter.value = self._counter_html()
        self.redraw()

    def draw(self):
        i = self.count % len(self.images)
        image = self.images[i:i + 1]
        label = "" if self.labels is None else f", label {int(self.labels[i])}"
        return plots.image_grid(image, ncol=1, title=f"image {i}{label}", width=3.5), image
