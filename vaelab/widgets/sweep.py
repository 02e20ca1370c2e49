"""Pick a beta from a precomputed sweep and see where it sits on the rate-distortion curve."""
from __future__ import annotations


from .. import plots
from ..checks import check_int
from ..metrics.latent_paths import decode_mean, prior_codes
from ._base import SweepExplorer, sweep_results

NEEDED = ("beta", "model", "rate", "distortion")


class BetaSweepExplorer(SweepExplorer):
    """A SelectionSlider over the betas of `beta_sweep(...)` results. Nothing trains here: every model
    is already in `results`. Each change redraws the rate-distortion curve with that beta marked, plus the
    model's reconstructions of `x[:n_show]` and decodings of n_show fixed prior codes (the same codes for
    every beta, so differences come from the model, not from the noise).

    `selected` is the chosen result dict; `last_data` its reconstructions (n_show, *data_shape).
    """

    def __init__(self, results, x, n_show: int = 8, beta=None, seed: int = 0):
        super().__init__()
        self.results = sweep_results(results, NEEDED, "beta", "vaelab.train.beta_sweep")
        check_int("n_show", n_show, 1)
        self.x = x[:n_show]
        self.codes = prior_codes(n_show, self.results[0]["model"].latent_dim, seed)
        betas = [r["beta"] for r in self.results]
        if beta is None:
            beta = 1.0 if 1.0 in betas else betas[len(betas) // 2]
        self.show_sweep(betas, beta, "β (KL weight)")

    def draw(self):
        i = self.slider.value
        model = self.results[i]["model"]
        recon = model.reconstruct(self.x.to(model.device))
        samples = decode_mean(model, self.codes)
        fig = plots.beta_sweep_view([r["rate"] for r in self.results], [r["distortion"] for r in self.results],
                                    [r["beta"] for r in self.results], i, self.x, recon, samples)
        return fig, recon


def beta_sweep_explorer(sweep_results, x, n_show: int = 8, beta=None) -> BetaSweepExplorer:
    """Slider over beta -> rate-distortion point + that model's reconstructions of x[:n_show] and samples."""
    return BetaSweepExplorer(sweep_results, x, n_show, beta)
