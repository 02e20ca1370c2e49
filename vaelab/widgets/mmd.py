"""MMD widgets: a two-sample test to build intuition, and a slider over a precomputed InfoVAE sweep of the MMD weight γ (the code's lam)."""
from __future__ import annotations

import ipywidgets as widgets

from .. import plots
from ..checks import check_int
from ..metrics.latent_paths import decode_mean, prior_codes
from ..metrics.prior_match import two_sample_demo
from ._base import Explorer, SweepExplorer, sweep_results

SWEEP_NEEDED = ("lam", "model", "kl", "mmd_prior", "rec")


class TwoSampleExplorer(Explorer):
    """x ~ N(0, I) and y ~ N(shift·e_1, I) in 2-D. Controls: mean shift, RBF bandwidth h (or the median
    heuristic), sample size n, kernel. Each change redraws both samples, the pooled kernel matrix, and the
    permutation null with the observed MMD² (and its p-value). `result` holds the last two_sample_demo dict.
    """

    def __init__(self, shift: float = 0.5, bandwidth: float = 1.0, n: int = 100, kernel: str = "rbf",
                 permutations: int = 200, seed: int = 0):
        super().__init__()
        check_int("permutations", permutations, 1)
        self.permutations, self.seed, self.result = permutations, seed, None
        style, wide = {"description_width": "initial"}, widgets.Layout(width="420px")
        self.shift = widgets.FloatSlider(value=shift, min=0.0, max=3.0, step=0.1, description="mean shift",
                                         continuous_update=False, style=style, layout=wide)
        self.bandwidth = widgets.FloatLogSlider(value=bandwidth, base=10, min=-2, max=2, step=0.1,
                                                description="RBF bandwidth h", continuous_update=False,
                                                style=style, layout=wide)
        self.median = widgets.Checkbox(value=False, description="median heuristic for h")
        self.n = widgets.IntSlider(value=n, min=5, max=300, step=5, description="sample size n",
                                   continuous_update=False, style=style, layout=wide)
        self.kernel = widgets.Dropdown(options=[("Gaussian (RBF)", "rbf"), ("inverse multiquadratic (IMQ)", "imq")],
                                       value=kernel, description="kernel", style=style)
        self.ui = widgets.VBox([widgets.HBox([widgets.VBox([self.shift, self.n]),
                                              widgets.VBox([self.bandwidth, widgets.HBox([self.kernel, self.median])])]),
                                self.output])
        self.observe(self.shift, self.bandwidth, self.median, self.n, self.kernel)
        self.redraw()

    def draw(self):
        kernel = self.kernel.value
        bw = "median" if self.median.value else self.bandwidth.value
        r = two_sample_demo(self.shift.value, self.n.value, bw, kernel, permutations=self.permutations,
                            seed=self.seed)
        self.result = r
        what = "IMQ, 7 scales" if kernel == "imq" else f"RBF, h = {r['bandwidth']:.3g}"
        fig = plots.two_sample_view(r["x"], r["y"], r["K"], r["mmd2_u"], r["p_value"], r["null"],
                                    title=f"shift {self.shift.value:g}, n = {self.n.value} ({what}): "
                                          f"MMD² = {r['mmd2_u']:.4f}, p = {r['p_value']:.3f}")
        return fig, r["K"]


def two_sample_explorer(shift: float = 0.5, bandwidth: float = 1.0, n: int = 100, kernel: str = "rbf") -> TwoSampleExplorer:
    """Sliders for mean shift, bandwidth and sample size -> MMD², permutation p-value, kernel-matrix heatmap."""
    return TwoSampleExplorer(shift, bandwidth, n, kernel)


class LambdaSweepExplorer(SweepExplorer):
    """A SelectionSlider over the MMD weight γ (`lam`) of `infovae_sweep(...)` results; nothing trains here. Each change redraws
    KL, mmd_prior and reconstruction against γ with the choice marked, and that model's decodings of
    n_show fixed prior draws (the same draws for every γ). `selected` is the chosen result dict;
    `last_data` its decoded samples."""

    def __init__(self, results, n_show: int = 25, lam=None, seed: int = 0):
        super().__init__()
        self.results = sweep_results(results, SWEEP_NEEDED, "lam", "vaelab.train.infovae_sweep")
        check_int("n_show", n_show, 1)
        lams = [r["lam"] for r in self.results]
        self.codes = prior_codes(n_show, self.results[0]["model"].latent_dim, seed)
        lam = lams[len(lams) // 2] if lam is None else lam
        self.show_sweep(lams, lam, "γ (MMD weight)")

    def draw(self):
        i = self.slider.value
        samples = decode_mean(self.results[i]["model"], self.codes)
        col = lambda key: [r[key] for r in self.results]  # noqa: E731
        fig = plots.lambda_sweep_view(col("lam"), col("kl"), col("mmd_prior"), col("rec"), i, samples)
        return fig, samples


def lambda_sweep_explorer(sweep_results, n_show: int = 25, lam=None) -> LambdaSweepExplorer:
    """Slider over γ -> KL, MMD and reconstruction against γ, plus that model's samples."""
    return LambdaSweepExplorer(sweep_results, n_show, lam)
