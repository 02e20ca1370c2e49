"""Every figure of vaelab.plots can be projected: rendered at its default size, every text it draws is at least
14 pt, no two texts overlap (tick labels of one axis or of neighbouring panels, axis labels, titles, legends,
annotations), series come with a legend, axes name their units, probe accuracies have a "chance" line at the
level given, compared latent maps share limits, and the q* ELBO trace reads as a climb to log p(x).

The texts checked are the ones actually drawn (Text.draw is recorded during canvas.draw), so hidden tick
labels and switched-off axes do not count, and tick labels turned by an angle are compared as the turned
rectangles they are, not as their (larger) upright bounding boxes."""
import inspect

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.text import Text

from vaelab import plots
from vaelab.plots._style import finish, new_figure

MIN_FONT = 14      # points, from the issue ("figures you can project"); not read from the code under test

# -- synthetic inputs of the shapes the notebooks pass --------------------------------------------------------
def images(n, h=8, w=8, seed=0):
    return torch.rand(n, 1, h, w, generator=torch.Generator().manual_seed(seed))


def points(n, scale=1.0, seed=0):
    return scale * torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


SENTENCES = ["the film was a quiet and moving study of grief", "i would not watch it again , too long",
             "the team won the final in the last minute", "stocks fell as the bank raised rates again",
             "a new phone with a bigger screen and battery", "<unk> <unk> the <unk> of the year"]


def grid2d(n=41):
    z = torch.linspace(-3, 3, n)
    dens = torch.exp(-0.5 * (z[None, :] ** 2 + 2 * z[:, None] ** 2))
    return {"z1": z, "z2": z, "density": dens, "log_px": -98.2, "mean": torch.tensor([0.1, -0.2])}


def history(epochs=10, diagnostics=True):
    rows = []
    for e in range(1, epochs + 1):
        r = {"epoch": e, "loss": 120 - 3 * e, "rec": 110 - 3 * e, "kl": 10 * np.exp(-e / 3), "elbo": -120 + 3 * e}
        if diagnostics:
            r.update(mi=2 * np.exp(-e / 3), kl_weight=min(1.0, e / 5), active_units=max(0, 8 - e),
                     kl_per_dim=list(np.linspace(0.01, 3, 16)))
        rows.append(r)
    return rows


REMEDIES = ["none", "kl_warmup", "cyclical", "beta", "freebits", "word_dropout", "aggressive"]


def remedy_rows():
    rows = []
    for variant, names, chance in (("lstm", REMEDIES, 0.25), ("pixelcnn", REMEDIES[:5] + REMEDIES[6:], 0.1),
                                   ("mlp", REMEDIES[:5] + REMEDIES[6:], 0.1)):
        for i, name in enumerate(names):
            rows.append({"remedy": name, "variant": variant, "kl": 0.1 + i, "kl_se": 0.05, "mi": 0.05 * i,
                         "mi_se": 0.01, "active_units": i, "probe_acc": chance + 0.04 * i, "probe_acc_se": 0.02,
                         "probe_chance": chance, "iw_nll": 40.0 + i, "iw_nll_se": 0.3,
                         **({"ppl": 80.0 + i} if variant == "lstm" else {})})
    return rows


def gap_rows():
    return [{"label": name, "approx": 0.4 + 0.1 * i, "approx_se": 0.03, "amort": 1.5 - 0.2 * i, "amort_se": 0.05,
             "approx_full": 0.3 + 0.1 * i}
            for i, name in enumerate(["encoder [32]", "encoder [128, 128]", "encoder [512, 512]",
                                      "decoder [512, 512]", "main, 10 epochs"])]


def summary_rows():
    return [{"label": name, "iw_nll": 60 - i, "iw_nll_se": 0.4, "kl": 0.5 * i, "kl_se": 0.1, "mi": 0.2 * i,
             "mi_se": 0.05, "active_units": i, "probe_acc": 0.25 + 0.05 * i, "probe_acc_se": 0.02}
            for i, name in enumerate(["elbo", "svi", "vae+svi", "vae+svi+kl", "savae"])]


def langevin_bias():
    return {"mean_bias": torch.tensor([0.01, -0.02]), "mean_se": torch.tensor([0.02, 0.02]),
            "var_bias": torch.tensor([-0.1, 0.05]), "var_se": torch.tensor([0.03, 0.03])}


def on_axes(draw, *args, width=9.0, height=6.0, **kw):
    fig, axes = new_figure(width, height)
    draw(axes[0, 0], *args, **kw)
    return fig


def trace(steps=200, start=-140.0, end=-98.9):
    return torch.tensor(end + (start - end) * np.exp(-np.arange(steps + 1) / 25.0), dtype=torch.float32)


def energy(n=41):
    z = torch.linspace(-3.5, 3.5, n)
    return {"z1": z, "z2": z, "log_density": -0.5 * (z[None, :] ** 2 + z[:, None] ** 2) + torch.sin(3 * z)[None, :]}


# name -> {case id: () -> figure}. Every public figure function needs at least one case (test_every_...).
CASES = {
    "history_curves": {"": lambda: plots.history_curves(history(), title="Training on digits")},
    "elbo_anatomy": {"": lambda: plots.elbo_anatomy([90.1, 85.3, 101.2, 92.0], [5.2, 8.1, 0.3, 4.4],
                                                    labels=["test image 3", "test image 17", "test image 40",
                                                            "mean over the test set"])},
    "draw_rate_distortion": {"": lambda: on_axes(plots.draw_rate_distortion, [0.2, 2.0, 8.0, 15.0, 25.0],
                                                 [120.0, 100.0, 90.0, 85.0, 83.0], [8, 4, 1, 0.5, 0.1])},
    "rate_distortion": {"": lambda: plots.rate_distortion([0.2, 2.0, 8.0, 15.0, 25.0], [120.0, 100.0, 90.0, 85.0, 83.0],
                                                          [8, 4, 1, 0.5, 0.1], highlight=2)},
    "draw_grid": {"": lambda: on_axes(plots.draw_grid, images(8), ncol=8, captions=[f"{v:.2g}" for v in
                                                                                    np.linspace(0, 1, 8)],
                                      title="samples", height=3.0)},
    "image_grid": {"": lambda: plots.image_grid(images(16), title="samples", captions=list(range(16))),
                   "one": lambda: plots.image_grid(images(1), ncol=1, title="image 3 (a 7)", width=3.5)},
    "reconstruction_rows": {"": lambda: plots.reconstruction_rows(images(10), images(10, seed=1))},
    "decoded_image": {"": lambda: plots.decoded_image(images(1)[0], torch.tensor([0.5, -1.25]))},
    "decoder_view": {"": lambda: plots.decoder_view(images(1)[0], torch.tensor([0.5, -1.0]), points(300),
                                                    torch.arange(300) % 10)},
    "draw_scatter": {"": lambda: on_axes(plots.draw_scatter, points(300), torch.arange(300) % 10, title="codes")},
    "latent_scatter": {"": lambda: plots.latent_scatter(points(500), torch.arange(500) % 10, highlight=[3, 7],
                                                        path=points(8, seed=2))},
    "beta_sweep_view": {"": lambda: plots.beta_sweep_view([0.2, 2.0, 8.0, 15.0], [120.0, 100.0, 90.0, 85.0],
                                                          [8, 4, 1, 0.5], 1, images(8), images(8, seed=1),
                                                          images(8, seed=2))},
    "interpolation_view": {"": lambda: plots.interpolation_view(images(9), torch.linspace(0, 1, 9), images(1)[0],
                                                                images(1, seed=1)[0])},
    "draw_gaussian": {"": lambda: on_axes(plots.draw_gaussian, np.array([0.0, 0.5]), np.array([[1.0, 0.3], [0.3, 0.5]]),
                                          "q(z|x)", "#d62728")},
    "posterior_view": {"": lambda: plots.posterior_view(
        grid2d(), {"encoder q": (torch.tensor([0.5, 0.2]), torch.tensor([0.3, 0.2])),
                   "q after 50 steps": (torch.tensor([0.2, 0.1]), torch.tensor([0.4, 0.25])),
                   "q* (diagonal)": (torch.tensor([0.0, 0.0]), torch.tensor([0.5, 0.3])),
                   "q* (full cov.)": (torch.tensor([0.0, 0.0]), torch.tensor([[0.8, 0.3], [0.3, 0.4]]))},
        trace={"q* (diagonal)": trace()}, step=50, title="example #12 (a 7)"),
        "no_trace": lambda: plots.posterior_view(grid2d(), {"encoder q": (torch.zeros(2), torch.ones(2))})},
    "draw_posterior_vs_prior": {"": lambda: on_axes(plots.draw_posterior_vs_prior, points(500), points(500, seed=1),
                                                    title="VAE", width=6.0)},
    "posterior_vs_prior": {"": lambda: plots.posterior_vs_prior(
        {"VAE (β = 1)": points(500), "InfoVAE (λ = 1000)": points(500, 0.5, 1)}, points(500, seed=2),
        {"VAE (β = 1)": 0.0123, "InfoVAE (λ = 1000)": 0.0009},
        {"VAE (β = 1)": images(9), "InfoVAE (λ = 1000)": images(9)})},
    "metric_bars": {"": lambda: plots.metric_bars({"ELBO": 0.05, "InfoVAE": 0.002, "MMD-VAE": 0.001,
                                                   "β-VAE (β = 4)": 0.01}, title="mmd_prior"),
                    "long_names_with_se": lambda: plots.metric_bars(
                        {"ELBO (β = 1)": (0.05, 0.004), "InfoVAE (α = 0, λ = 1000)": (0.002, 0.001),
                         "MMD-VAE (λ = 1000)": (0.001, 0.001), "β-VAE (β = 4)": (0.01, 0.002),
                         "ELBO, 10 epochs": (0.04, 0.003)})},
    "mmd_curve": {"": lambda: plots.mmd_curve({"RBF": ([0, 0.5, 1, 2], [0.0, 0.05, 0.2, 0.6]),
                                               "IMQ": ([0, 0.5, 1, 2], [0.0, 0.04, 0.15, 0.4])}, "mean shift",
                                              title="MMD² grows with the shift")},
    "lambda_sweep_view": {"": lambda: plots.lambda_sweep_view([0, 1, 10, 100, 1000, 10000], [8, 7, 6, 5, 4, 3],
                                                              [0.3, 0.1, 0.03, 0.01, 0.002, -0.001],
                                                              [80, 81, 82, 83, 84, 85], 2, images(16))},
    "two_sample_view": {"": lambda: plots.two_sample_view(points(40), points(40, seed=1) + 0.5, torch.rand(80, 80),
                                                          0.0123, 0.004, torch.randn(200) * 0.01),
                        "1d": lambda: plots.two_sample_view(torch.randn(50, 1), torch.randn(50, 1) + 1,
                                                            torch.rand(100, 100), 0.2, 0.001)},
    "collapse_view": {"": lambda: plots.collapse_view(history(), title="LSTM decoder, plain ELBO",
                                                      compare=history(), compare_label="plain ELBO")},
    "remedy_bars": {"": lambda: plots.remedy_bars(remedy_rows(), title="Which remedies keep z alive?")},
    "remedies_grid": {"": lambda: plots.remedies_grid(remedy_rows(), title="Which remedies keep z alive?"),
                      "one_variant": lambda: plots.remedies_grid([r for r in remedy_rows() if r["variant"] == "lstm"]),
                      "notebook": lambda: plots.remedies_grid(
                          pd.DataFrame([r for r in remedy_rows() if r["variant"] != "mlp"]).to_dict("records"),
                          title="Which remedies keep z alive?",
                          titles={"lstm": "text · LSTM decoder", "pixelcnn": "images · PixelCNN decoder"})},
    "gap_bars": {"": lambda: plots.gap_bars(gap_rows(), title="Where the ELBO loses against log p(x)"),
                 "two_rows": lambda: plots.gap_bars(gap_rows()[:2], unit="nats per image")},
    "summary_bars": {"": lambda: plots.summary_bars(summary_rows(), chance=0.25, title="The five modes")},
    "cost_bars": {"": lambda: plots.cost_bars([{"label": "vae", "time_x_vae": 1.0, "memory_x_vae": 1.0},
                                               {"label": "vae+svi", "time_x_vae": 6.1, "memory_x_vae": 1.2},
                                               {"label": "SA-VAE (exact)", "time_x_vae": 23.1, "memory_x_vae": 4.0},
                                               {"label": "SA-VAE (fd)", "time_x_vae": 12.0, "memory_x_vae": 2.0}])},
    "refinement_path_view": {"": lambda: plots.refinement_path_view(
        {"grid": grid2d(), "mu": torch.linspace(0, 1, 21)[:, None].repeat(1, 2),
         "var": torch.full((21, 2), 0.3), "trace": trace(20)}, 10)},
    "langevin_view": {"": lambda: plots.langevin_view(
        grid2d(), (torch.tensor([0.2, 0.1]), torch.tensor([0.4, 0.3])),
        {"short run (20 steps)": {"z": points(300, 0.7), "bias": langevin_bias()},
         "long run (500 steps)": {"z": points(300, 0.7, 1), "bias": langevin_bias()}}, title="example #4")},
    "ebm_prior_view": {"": lambda: plots.ebm_prior_view(
        {"Gaussian prior": {"energy": None, "z": points(300), "x": points(300, 2.0), "log_z": None},
         "EBM prior": {"energy": energy(), "z": points(300), "x": points(300, 2.0), "log_z": (0.31, 0.02)}},
        points(500, 2.0, 3))},
    "draw_sentences": {"": lambda: on_axes(plots.draw_sentences, SENTENCES, "decoded", [f"t={t:.2g}" for t in
                                                                                         np.linspace(0, 1, 6)],
                                           width=12.0, height=4.0)},
    "draw_items": {"": lambda: on_axes(plots.draw_items, images(8), 4, "decoded", height=4.0),
                   "text": lambda: on_axes(plots.draw_items, SENTENCES, title="decoded", width=12.0, height=4.0)},
    "item_grid": {"": lambda: plots.item_grid(images(16), title="decoded"),
                  "text": lambda: plots.item_grid(SENTENCES, title="decoded"),
                  "widget": lambda: plots.item_grid(images(1), ncol=1, width=6.0)},
    "draw_map": {"": lambda: on_axes(plots.draw_map, points(300), torch.arange(300) % 4,
                                     ("PC 1 (45% of variance)", "PC 2 (20%)"), highlight=[1, 2],
                                     ellipses=[(torch.zeros(2), torch.eye(2) * 0.1)], title="click to decode")},
    "map_view": {"": lambda: plots.map_view(points(300), torch.arange(300) % 10, highlight=[0, 1, 2],
                                            ellipses=[(torch.zeros(2), torch.eye(2) * 0.2)], marker=torch.zeros(2),
                                            items=images(4), items_title="decoded at the cross (z = (+0.00, +0.00))",
                                            title="test set, identity map"),
                 "text": lambda: plots.map_view(points(300), torch.arange(300) % 4, ("PC 1 (45% of variance)",
                                                                                     "PC 2 (20%)"),
                                                items=SENTENCES[:3], items_title="decoded at the cross",
                                                title="test set, pca map"),
                 "alone": lambda: plots.map_view(points(300), torch.arange(300) % 10, title="VAE: q(z|x) of 0-2",
                                                 width=9)},
    "traversal_view": {"": lambda: plots.traversal_view(images(4 * 7), [0, 3, 5, 1], np.linspace(-3, 3, 7),
                                                        kl=np.linspace(3, 0.1, 8)),
                       "text": lambda: plots.traversal_view(SENTENCES[:6], [0, 2], [-2.0, 0.0, 2.0],
                                                            kl=np.ones(4))},
    "path_view": {"": lambda: plots.path_view({"linear": images(8), "spherical": images(8, seed=3)},
                                              torch.linspace(0, 1, 8)),
                  "text": lambda: plots.path_view({"linear": SENTENCES[:5], "spherical": SENTENCES[1:6]},
                                                  torch.linspace(0, 1, 5))},
    "neighbours_view": {"": lambda: plots.neighbours_view(images(1), images(8, seed=1), np.linspace(0.1, 1, 8),
                                                          query_title="example 5"),
                        "text": lambda: plots.neighbours_view(SENTENCES[:1], SENTENCES[1:], np.linspace(0.1, 1, 5))},
    "compare_maps": {"": lambda: plots.compare_maps([
        {"points": points(300, 1.0), "labels": torch.arange(300) % 10, "axes": ("$z_1$", "$z_2$"), "title": "VAE"},
        {"points": points(300, 0.02, 1), "labels": torch.arange(300) % 10, "axes": ("$z_1$", "$z_2$"),
         "title": "β-VAE (β = 4)"}])},
    "compare_items": {"": lambda: plots.compare_items({"VAE": SENTENCES[:5], "SA-VAE": SENTENCES[1:6]},
                                                      row_labels=[f"t={t:.2g}" for t in np.linspace(0, 1, 5)],
                                                      title="Straight path from example 0 (t = 0) to 5 (t = 1)"),
                      "images": lambda: plots.compare_items({"VAE": images(6), "β-VAE": images(6, seed=1)})},
    "gradient_estimator_view": {"": lambda: plots.gradient_estimator_view(
        {"score function (REINFORCE): f(z)·(z − μ)/σ²": (torch.randn(10000) ** 3 * 3 + 4, 3.93, 0.09),
         "pathwise (reparameterized): f′(μ + σε)": (torch.randn(10000) * 2 + 4, 3.99, 0.02)}, exact=4.0,
        xlabel="single-sample estimate of dE[z²]/dμ at μ = 2, σ = 1")},
    "iw_bound_view": {"": lambda: plots.iw_bound_view(
        [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
        [{"title": f"test point #{i} (a {i + 3})", "bound": -40.0 + i - 2 / np.sqrt([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
          "se": 0.2 / np.sqrt([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]), "log_px": -40.0 + i} for i in range(4)]),
        "three": lambda: plots.iw_bound_view([1, 10, 100], [{"title": f"#{i}", "bound": [-3.0, -2.5, -2.2],
                                                             "se": [0.1, 0.05, 0.02], "log_px": -2.1} for i in range(3)],
                                             title="The bound tightens")},
}

# Public names of vaelab.plots that draw nothing (array helpers), so they need no legibility case.
NOT_FIGURES = {"as_images", "tile"}

# Where a function shows a probe accuracy: the chance levels its case passed, and the axes titles that carry them.
CHANCE = {"remedy_bars": {0.25, 0.1}, "remedies_grid": {0.25, 0.1}, "summary_bars": {0.25}}

# Units the axis labels must name (a substring of some axis label of the figure).
UNITS = {"history_curves": ["epoch", "nats"], "collapse_view": ["epoch", "nats"], "elbo_anatomy": ["nats"],
         "rate_distortion": ["nats"], "posterior_view": ["step", "nats"], "refinement_path_view": ["step", "nats"],
         "remedies_grid": ["nats per sentence", "nats per image", "fraction correct"],
         "remedy_bars": ["nats"], "gap_bars": ["nats"], "summary_bars": ["nats"],
         "lambda_sweep_view": ["nats"], "cost_bars": ["× VAE"],
         "gradient_estimator_view": ["count"], "iw_bound_view": ["nats", "importance samples"]}

PARAMS = [pytest.param(name, case, id=f"{name}-{case}" if case else name)
          for name, cases in CASES.items() for case in cases]


# -- what is drawn ---------------------------------------------------------------------------------------------
def render(fig):
    """Draw fig; return (renderer, list of Text artists actually drawn with non-blank text)."""
    drawn = []
    original = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original(self, renderer)

    FigureCanvasAgg(fig)               # plots build bare Figures (no pyplot): give each an Agg canvas to draw on
    Text.draw = record
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return fig.canvas.get_renderer(), drawn


def corners(text, renderer):
    """The 4 corners (display pixels) of the rectangle a text really covers, turned by its rotation."""
    box = text.get_window_extent(renderer)
    angle = text.get_rotation() % 180
    if min(angle, 180 - angle) < 1e-6 or abs(angle - 90) < 1e-6:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    text.set_rotation(0)
    try:
        upright = text.get_window_extent(renderer)
    finally:
        text.set_rotation(angle)
    w, h = upright.width, upright.height
    t = np.radians(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    pts = np.array([[0, 0], [w, 0], [w, h], [0, h]]) @ rot.T
    # the turned rectangle is fixed up to a shift; its bounding box is the text's window extent
    return pts - pts.min(0) + np.array([box.x0, box.y0])


def overlap(a, b, slack=3.0):
    """Do two convex quadrilaterals overlap by more than `slack` pixels (separating-axis test)? A text's box
    holds blank space above and below its glyphs: the x and y tick labels meeting at an axes' corner touch
    by about 2 pixels without a glyph touching another."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            normal = np.array([-edge[1], edge[0]]) / (np.hypot(*edge) or 1.0)
            pa, pb = a @ normal, b @ normal
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= slack:
                return False
    return True


def tick_labels(ax, axis, drawn_ids):
    labels = [lab for tick in axis.get_major_ticks() + axis.get_minor_ticks() for lab in (tick.label1, tick.label2)]
    return [lab for lab in labels if id(lab) in drawn_ids]


def check_legible(fig):
    renderer, drawn = render(fig)
    problems = []
    for t in drawn:
        if t.get_fontsize() < MIN_FONT:
            problems.append(f"{t.get_text()!r} is {t.get_fontsize():g} pt (< {MIN_FONT})")
    ids = {id(t) for t in drawn}
    boxes = lambda texts: [(t, corners(t, renderer)) for t in texts]                       # noqa: E731
    for k, ax in enumerate(fig.axes):                                  # tick labels of one axis, named
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = boxes(tick_labels(ax, axis, ids))
            for i, (t1, c1) in enumerate(ticks):
                for t2, c2 in ticks[i + 1:]:
                    if overlap(c1, c2):
                        problems.append(f"axes {k} {name} tick labels {t1.get_text()!r} and {t2.get_text()!r} overlap")
    # then any two texts at all: tick labels of neighbouring panels, axis labels, titles, legends, annotations,
    # captions (a cheap test of upright bounding boxes first, the turned rectangles for the pairs that pass it)
    quads = [corners(t, renderer) for t in drawn]
    lo = np.array([q.min(0) for q in quads]).reshape(-1, 2)
    hi = np.array([q.max(0) for q in quads]).reshape(-1, 2)
    near = np.triu((np.minimum(hi[:, None], hi[None]) - np.maximum(lo[:, None], lo[None]) > 3.0).all(-1), 1)
    for i, j in zip(*np.nonzero(near)):
        if overlap(quads[i], quads[j]):
            problems.append(f"texts {drawn[i].get_text()!r} and {drawn[j].get_text()!r} overlap")
    return problems, drawn


def legend_problems(fig):
    """Axes with two or more labelled series whose labels no legend of the figure (on any axes, or the
    figure's own) lists: panels that draw the same series may share one legend."""
    out = []
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    shown = {t.get_text() for lg in legends if lg is not None for t in lg.get_texts()}
    for k, ax in enumerate(fig.axes):
        named = {a.get_label() for a in [*ax.get_lines(), *ax.collections, *ax.patches, *ax.containers]
                 if a.get_label() and not a.get_label().startswith("_")}
        if len(named) >= 2 and named - shown:
            out.append(f"axes {k} draws {sorted(named)} but no legend lists {sorted(named - shown)}")
    return out


# -- the tests ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,case", PARAMS)
def test_figure_is_legible_when_projected(name, case):
    fig = CASES[name][case]()
    problems, _ = check_legible(fig)
    assert not problems, f"{name}[{case}]:\n" + "\n".join(problems[:20])
    assert not legend_problems(fig), legend_problems(fig)
    if name in UNITS and not case:
        labels = " | ".join(t.get_text() for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label))
        missing = [u for u in UNITS[name] if u not in labels]
        assert not missing, f"{name}: axis labels {labels!r} name no {missing}"


@pytest.mark.parametrize("name", sorted(CHANCE))
def test_probe_accuracies_have_a_chance_line_at_the_level_given(name):
    fig = CASES[name][""]()
    levels = set()
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label() == "chance":
                x, y = np.unique(line.get_xdata()), np.unique(line.get_ydata())
                assert x.size == 1 or y.size == 1, "a chance line is straight, across the accuracy axis"
                levels.add(round(float((y if y.size == 1 else x)[0]), 6))
    assert levels == {round(v, 6) for v in CHANCE[name]}
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    assert "chance" in {t.get_text() for lg in legends if lg is not None for t in lg.get_texts()}


def test_compared_latent_maps_share_their_limits():
    fig = CASES["compare_maps"][""]()
    render(fig)
    maps = [ax for ax in fig.axes if ax.collections]
    assert len(maps) == 2
    assert maps[0].get_xlim() == maps[1].get_xlim() and maps[0].get_ylim() == maps[1].get_ylim()
    # the common limits hold the wide map: a 300-point N(0, I) sample reaches past |z| = 2
    (x0, x1), (y0, y1) = maps[0].get_xlim(), maps[0].get_ylim()
    wide = maps[0].collections[0].get_offsets()
    assert x0 <= wide[:, 0].min() and x1 >= wide[:, 0].max() and y0 <= wide[:, 1].min() and y1 >= wide[:, 1].max()
    assert x1 - x0 > 4 and y1 - y0 > 4


def test_posterior_trace_reads_as_a_climb_to_log_px():
    fig = CASES["posterior_view"][""]()
    render(fig)
    ax = fig.axes[1]
    ref = [ln for ln in ax.get_lines() if "log p(x)" in ln.get_label()]
    assert len(ref) == 1 and float(np.unique(ref[0].get_ydata())[0]) == pytest.approx(-98.2)
    lo, hi = ax.get_ylim()
    t = trace()
    assert lo <= float(t[0]) < float(t[-1]) < -98.2 <= hi             # the whole climb and the target are in view
    assert (hi - lo) < 1.5 * (-98.2 - float(t[0]))                     # and fill the panel
    # both q* of the prose are on the contour panel: the diagonal one and the full-covariance one
    names = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "q* (diagonal)" in names and "q* (full cov.)" in names


def bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_gap_bars_stack_the_two_gaps_with_their_errors():
    rows = gap_rows()
    ax = plots.gap_bars(rows).axes[0]
    approx, amort = bars(ax)                                    # in drawing order
    widths = lambda c: [round(b.get_width(), 6) for b in c.patches]                       # noqa: E731
    assert widths(approx) == [round(r["approx"], 6) for r in rows]
    assert widths(amort) == [round(r["amort"], 6) for r in rows]
    assert [round(b.get_x(), 6) for b in amort.patches] == [round(r["approx"], 6) for r in rows]   # stacked
    assert approx.errorbar is not None and amort.errorbar is not None
    # the error bar of a segment spans its end ± its standard error (nats)
    segs = amort.errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segs], [[r["approx"] + r["amort"] - r["amort_se"],
                                                          r["approx"] + r["amort"] + r["amort_se"]] for r in rows])
    assert "nats" in ax.get_xlabel()
    legend = {t.get_text().split(":")[0] for t in ax.figure.legends[0].get_texts()}
    assert {"approximation gap", "amortization gap"} <= legend


@pytest.mark.parametrize("source", ["dicts", "dataframe"])
def test_remedies_grid_puts_each_variant_in_its_own_column_and_each_metric_in_a_row(source):
    # notebook 02 passes DataFrame records, where image rows carry ppl = NaN (the column exists for text rows)
    records = remedy_rows() if source == "dicts" else pd.DataFrame(remedy_rows()).to_dict("records")
    fig = plots.remedies_grid(records)
    grid = np.array(fig.axes).reshape(4, 3)
    for j, variant in enumerate(("lstm", "pixelcnn", "mlp")):
        rows = [r for r in remedy_rows() if r["variant"] == variant]
        for i, key in enumerate(("kl", "active_units", "probe_acc")):
            heights = [round(p.get_height(), 6) for p in bars(grid[i, j])[0].patches]
            assert heights == [round(r[key], 6) for r in rows]
        nll = grid[3, j].collections[-1].get_offsets()[:, 1]                # -log p(x): points, not bars
        np.testing.assert_allclose(nll, [r["iw_nll"] for r in rows])
        assert grid[3, j].get_ylabel() == ("nats per sentence" if variant == "lstm" else "nats per image")
        names = [t.get_text().replace("\n", "") for t in grid[3, j].get_xticklabels()]
        assert names == [r["remedy"] for r in rows]


def test_every_public_plot_function_has_a_legibility_case():
    public = {n for n in plots.__all__ if inspect.isfunction(getattr(plots, n))}
    public |= {n for n, f in vars(plots).items() if inspect.isfunction(f) and not n.startswith("_")
               and f.__module__.startswith("vaelab.plots")}
    assert public - NOT_FIGURES - set(CASES) == set(), "add a case to CASES for each new plot function"
    assert set(CASES) <= public, "a case names a function vaelab.plots does not export"


def test_the_checks_can_fail():
    """The checker itself: a 10 pt label, two tick labels on one spot, and a missing legend are each caught."""
    fig, axes = new_figure(6, 4)
    ax = axes[0, 0]
    ax.set_xlabel("nats", fontsize=10)
    assert any("10 pt" in p for p in check_legible(fig)[0])
    fig, axes = finish(new_figure(3, 3)[0]), None
    fig.axes[0].set_xticks([0, 0.01], ["a long label", "another long label"], fontsize=14)
    assert any("overlap" in p for p in check_legible(fig)[0])
    fig, axes = new_figure(3, 3)
    axes[0, 0].set_xticks([0, 1], ["one", "two"], fontsize=14, rotation=45, ha="right", rotation_mode="anchor")
    finish(fig)
    assert not check_legible(fig)[0]                                   # turned labels far apart do not overlap
    axes[0, 0].set_xticks([0, 0.02], ["a long label", "another long label"], fontsize=14, rotation=45)
    assert any("overlap" in p for p in check_legible(fig)[0])
    fig, axes = new_figure(3, 3)
    axes[0, 0].plot([0, 1], label="a")
    axes[0, 0].plot([1, 0], label="b")
    assert legend_problems(fig)
